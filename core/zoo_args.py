"""What the commands take for a zoo model: every name the zoo lists, and the graphs a name stands for."""


def zoo_names() -> list[str]:
    """Every name the zoo lists: its graphs and the composites (vae, faceswap) made of them."""
    from visionrt import model_zoo
    from visionrt.model_zoo import registry

    return model_zoo.names() + sorted(registry.COMPOSITES)


def graphs(name: str) -> tuple[str, ...]:
    """The graphs a command acts on for ``name``: a composite's parts, in order, else the name itself."""
    from visionrt import model_zoo

    return model_zoo.composite(name) or (name,)

