import pytest

from engine.configs import CONFIGS, HParams, get_config
from engine.errors import ConfigError
from engine.events import Event, Vocabulary, bin_to_velocity, velocity_to_bin


def test_class_layout_matches_magenta():
    vocab = Vocabulary(32)
    assert vocab.num_classes == 388
    assert Vocabulary(0).num_classes == 356
    assert vocab.encode(Event("note_on", 0)) == 0
    assert vocab.encode(Event("note_off", 127)) == 255
    assert vocab.encode(Event("time_shift", 1)) == 256
    assert vocab.encode(Event("time_shift", 100)) == 355 == vocab.no_event_id == Vocabulary(0).no_event_id
    assert vocab.encode(Event("velocity", 32)) == 387
    assert [vocab.decode(i) for i in (0, 255, 355, 356)] == [
        Event("note_on", 0), Event("note_off", 127), Event("time_shift", 100), Event("velocity", 1)]


def test_every_class_round_trips():
    for bins in (0, 16, 32):
        vocab = Vocabulary(bins)
        assert [vocab.encode(vocab.decode(i)) for i in range(vocab.num_classes)] == list(range(vocab.num_classes))


def test_velocity_bins_as_magenta():
    assert velocity_to_bin([1, 4, 5, 8, 125, 127], 32).tolist() == [1, 1, 2, 2, 32, 32]
    assert bin_to_velocity([1, 2, 32], 32).tolist() == [1, 5, 125]
    assert velocity_to_bin(127, 16) == 16 and bin_to_velocity(2, 16) == 9


@pytest.mark.parametrize("kind,value", [("note_on", 128), ("time_shift", 0), ("time_shift", 101), ("pitch", 3)])
def test_bad_events_are_rejected(kind, value):
    with pytest.raises(ValueError):
        Event(kind, value)


def test_velocity_outside_vocabulary():
    with pytest.raises(ValueError, match="outside this vocabulary"):
        Vocabulary(0).encode(Event("velocity", 3))


def test_configs_report_magenta_input_sizes():
    expected = {
        "performance": (356, 356), "performance_with_dynamics": (388, 388),
        "performance_with_dynamics_compact": (1, 388), "performance_with_dynamics_and_modulo_encoding": (16, 388),
        "density_conditioned_performance_with_dynamics": (396, 388),
        "pitch_conditioned_performance_with_dynamics": (400, 388),
        "multiconditioned_performance_with_dynamics": (408, 388),
        "optional_multiconditioned_performance_with_dynamics": (409, 388),
    }
    assert {name: (c.input_size, c.num_classes) for name, c in CONFIGS.items()} == expected
    assert get_config("performance_with_dynamics_compact").id == "performance_with_dynamics"
    assert get_config("performance").hparams == HParams()


def test_unknown_config_names_the_choices():
    with pytest.raises(ConfigError, match="unknown config 'perf'.*performance_with_dynamics"):
        get_config("perf")


def test_hparams_string():
    hp = HParams().override("batch_size=32, rnn_layer_sizes=[256,256], learning_rate=0.01")
    assert (hp.batch_size, hp.rnn_layer_sizes, hp.learning_rate) == (32, (256, 256), 0.01)
    with pytest.raises(ConfigError, match="unknown hparam 'batchsize'"):
        HParams().override("batchsize=3")
    with pytest.raises(ConfigError, match="batch_size must be int"):
        HParams().override("batch_size=1.5")
    with pytest.raises(ConfigError, match="bad value"):
        HParams().override("batch_size=0")
    with pytest.raises(ConfigError, match="list of ints"):
        HParams().override("rnn_layer_sizes=512")
