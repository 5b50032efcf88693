import numpy as np
from hypothesis import given, settings, strategies as st

from engine.configs import CONFIGS, get_config
from engine.encodings import decode_events, encode_events, event_table, network_inputs


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(CONFIGS)), st.lists(st.integers(0, 10_000), min_size=1, max_size=64))
def test_encode_decode_round_trip(name, raw):
    config = get_config(name)
    ids = np.array(raw) % config.num_classes
    inputs = encode_events(config, ids)
    assert inputs.shape == (len(ids), config.event_input_size)
    assert decode_events(config, inputs).tolist() == ids.tolist()


def test_modulo_encoding_values():
    config = get_config("performance_with_dynamics_and_modulo_encoding")
    table = event_table(config)
    assert table.shape == (388, 16)
    note_on_60 = table[60]
    assert np.allclose(note_on_60[:5], [1, np.cos(60 * np.pi / 72), np.sin(60 * np.pi / 72), 1, 0], atol=1e-6)
    assert not note_on_60[5:].any()
    shift_1 = table[256]
    assert np.allclose(shift_1[10:13], [1, 1, 0]) and not shift_1[:10].any()
    velocity_32 = table[387]
    assert np.allclose(velocity_32[13:], [1, np.cos(2 * np.pi * 31 / 32), np.sin(2 * np.pi * 31 / 32)], atol=1e-6)


def test_network_inputs_put_controls_first():
    config = get_config("density_conditioned_performance_with_dynamics")
    controls = np.eye(8, dtype=np.float32)[[3, 5]]
    x = network_inputs(config, [0, 355], controls)
    assert x.shape == (2, 396)
    assert x[0, 3] == 1 and x[0, 8 + 0] == 1 and x[1, 5] == 1 and x[1, 8 + 355] == 1
