"""ScenarioConfig validation: defaults reproduce the published recipe, bad input is named."""

import math

import pytest

from ggmi_core.config import FIELD_LIMITS, ScenarioConfig


def test_defaults_are_the_published_recipe():
    cfg = ScenarioConfig()
    assert (cfg.K, cfg.J, cfg.L, cfg.n_anchor_per_component, cfg.n_synthetic, cfg.dim) == (
        2,
        2,
        2,
        50,
        200,
        2,
    )
    assert (cfg.noise_std, cfg.adherence, cfg.seed, cfg.cov_recipe) == (0.0, 0.0, 0, "published")
    assert cfg.n_target_components == 4 and cfg.n_model_components == 6 and cfg.n_anchor == 100


@pytest.mark.parametrize("name", sorted(FIELD_LIMITS))
def test_out_of_range_values_name_the_field_and_range(name):
    limit = FIELD_LIMITS[name]
    for bad in (limit.low - 1, limit.high + 1, math.nan, math.inf, "not a number", None):
        with pytest.raises(ValueError) as err:
            ScenarioConfig(**{name: bad})
        assert name in str(err.value)
        assert ".." in str(err.value)


def test_integer_fields_reject_fractions_but_accept_integral_floats_and_strings():
    with pytest.raises(ValueError, match="K"):
        ScenarioConfig(K=2.5)
    assert ScenarioConfig(K=3.0).K == 3
    assert isinstance(ScenarioConfig(K="4").K, int)


def test_booleans_are_not_numbers():
    with pytest.raises(ValueError, match="J"):
        ScenarioConfig(J=True)


def test_synthetic_sample_must_cover_model_components():
    with pytest.raises(ValueError, match="n_synthetic"):
        ScenarioConfig(K=10, J=10, L=10, n_synthetic=20)


def test_unknown_covariance_recipe_is_rejected():
    with pytest.raises(ValueError, match="cov_recipe"):
        ScenarioConfig(cov_recipe="cholesky")


def test_dict_round_trip_and_unknown_keys():
    cfg = ScenarioConfig(K=5, noise_std=0.25, adherence=0.5, seed=7)
    assert ScenarioConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="bogus"):
        ScenarioConfig.from_dict({"K": 2, "bogus": 1})


def test_replace_validates():
    with pytest.raises(ValueError, match="adherence"):
        ScenarioConfig().replace(adherence=1.5)


def test_every_field_has_one_record_with_its_default():
    import dataclasses

    from ggmi_core.config import SETTINGS_BY_NAME

    fields = {f.name: f.default for f in dataclasses.fields(ScenarioConfig)}
    assert fields == {name: s.default for name, s in SETTINGS_BY_NAME.items()}


def test_a_broken_record_fails_when_it_is_made():
    from ggmi_core.config import Setting

    with pytest.raises(ValueError, match="q"):
        Setting("q", 12, 0, 9, True, "dummy")  # default outside its range
    with pytest.raises(ValueError, match="not an option"):
        Setting("r", "c", options={"a": "A", "b": "B"})
    with pytest.raises(ValueError, match="sweep_range"):
        Setting("s", 1, 0, 9, True, "dummy", sweepable=True)  # shown in the app, no range


def test_sweep_lists_and_recipes_come_from_the_records():
    from ggmi_core.config import COV_RECIPES, SCENARIO_SETTINGS, SWEEPABLE_PARAMS

    assert SWEEPABLE_PARAMS == tuple(s.name for s in SCENARIO_SETTINGS if s.sweepable)
    assert "seed" not in SWEEPABLE_PARAMS and "cov_recipe" not in SWEEPABLE_PARAMS
    assert COV_RECIPES == ("published", "aat")
