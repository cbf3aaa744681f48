import chorus


def test_all_is_sorted_and_matches_the_exports():
    public = {name for name in vars(chorus) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(chorus, name)).__name__ == "module"}
    assert chorus.__all__ == sorted(chorus.__all__)
    assert set(chorus.__all__) == public - modules


def test_every_error_is_a_chorus_error():
    errors = [getattr(chorus, n) for n in chorus.__all__ if n.endswith("Error")]
    assert errors
    assert all(issubclass(error, chorus.ChorusError) for error in errors)
