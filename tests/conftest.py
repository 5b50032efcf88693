"""Shared pytest setup: one torch thread (the suite shares 2 cores) and the tiny-model fixtures."""
import pytest
import torch

from tests.helpers import tiny_bundle, tiny_model

torch.set_num_threads(1)


@pytest.fixture
def tiny():
    """tiny(config_name='performance_with_dynamics', layers=(32,)) -> a trained tiny PerformanceModel."""
    return tiny_model


@pytest.fixture
def tiny_bundle_path(tmp_path):
    """tiny_bundle_path(config_name='performance_with_dynamics') -> path of a tiny bundle in tmp_path."""
    return lambda config_name="performance_with_dynamics", **kw: tiny_bundle(tmp_path, config_name, **kw)
