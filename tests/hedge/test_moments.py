"""Correlation and beta from a covariance matrix say "no estimate" (NaN) where there is none."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from bot.hedge.moments import as_sample, beta_from_covariance, correlation_from_covariance


def test_correlation_is_covariance_over_the_product_of_standard_deviations_and_one_on_the_diagonal() -> None:
    cov = np.array([[4.0, 1.8, -1.0], [1.8, 1.0, 0.0], [-1.0, 0.0, 9.0]])
    corr = correlation_from_covariance(cov)
    np.testing.assert_allclose(corr, [[1.0, 0.9, -1 / 6], [0.9, 1.0, 0.0], [-1 / 6, 0.0, 1.0]])


def test_a_series_without_variance_has_nan_correlations_and_no_warning() -> None:
    cov = np.array([[4.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corr = correlation_from_covariance(cov)
    assert np.isnan(corr[1]).all()
    assert np.isnan(corr[:, 1]).all()
    assert corr[0, 2] == pytest.approx(0.5)


def test_rounding_never_pushes_a_correlation_past_one() -> None:
    cov = np.array([[1.0, 1.0 + 1e-15], [1.0 + 1e-15, 1.0]])
    assert correlation_from_covariance(cov)[0, 1] == 1.0


def test_beta_is_covariance_over_the_variance_of_the_hedge() -> None:
    assert beta_from_covariance(1.8, 1.0) == pytest.approx(1.8)


@pytest.mark.parametrize("variance", [0.0, math.nan])
def test_beta_against_a_series_without_variance_is_nan(variance: float) -> None:
    assert math.isnan(beta_from_covariance(0.3, variance))


@pytest.mark.parametrize("bad", [[1.0], [1.0, math.nan], [math.inf, 1.0], [[1.0, 2.0]]])
def test_a_sample_of_the_wrong_shape_or_with_non_finite_values_is_refused(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="sample"):
        as_sample(bad, 2)


def test_a_sample_is_copied_so_the_caller_may_reuse_its_buffer() -> None:
    buffer = np.array([1.0, 2.0])
    sample = as_sample(buffer, 2)
    buffer[0] = 99.0
    assert sample.tolist() == [1.0, 2.0]
