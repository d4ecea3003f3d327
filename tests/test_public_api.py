import pilotline


def test_the_public_api_is_small_and_explicit() -> None:
    assert pilotline.__all__ == [
        "EmbeddedStore",
        "ImportOptions",
        "ImportRejected",
        "InputError",
        "Measure",
        "PilotlineError",
        "Plant",
        "Problem",
        "Settings",
        "__version__",
        "import_file",
        "import_table",
        "load_plant",
        "simulate",
    ]
    for name in pilotline.__all__:
        assert hasattr(pilotline, name)


def test_every_error_derives_from_one_root() -> None:
    from pilotline import errors

    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert all(issubclass(c, errors.PilotlineError) for c in classes)
    for c in classes:
        assert c.__name__ in errors.__doc__
