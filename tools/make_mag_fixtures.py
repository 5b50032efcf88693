"""DEV-ONLY: build the `.mag` test fixtures with real TensorFlow (tests/fixtures/mag/).

TensorFlow is not a dependency of the project, at run time or in tests: this script runs in a
separate virtualenv outside the repo, once, and its outputs are committed.

    python3 -m venv /work/tfvenv
    /work/tfvenv/bin/pip install tensorflow-cpu tf-keras tf-slim    # TF 2.21 was used
    /work/tfvenv/bin/python tools/make_mag_fixtures.py [OUT_DIR]     # default tests/fixtures/mag
    /work/tfvenv/bin/python tools/make_mag_fixtures.py OUT_DIR --full-size   # 3x512, ~25 MB each, not committed

tf-keras is needed because TF >= 2.16 hides the TF1 RNN cells behind Keras 3; with
TF_USE_LEGACY_KERAS=1 `tf.compat.v1.nn.rnn_cell.BasicLSTMCell` is the legacy cell Magenta used.

For each layout it builds Magenta's generate graph (MM models/shared/events_rnn_graph.py) in
tf.compat.v1 graph mode: a float `inputs` placeholder [1, T, input_size], a MultiRNNCell of
BasicLSTMCell(forget_bias=1.0) each in a DropoutWrapper(keep 1.0), dynamic_rnn from the zero state,
`tf_slim.layers.linear` (variables fully_connected/weights, fully_connected/biases) and
softmax(logits / temperature). Weights are random (seeded), so nothing is trained. It saves them
with `Saver(write_version=V1, sharded=False)`, wraps the checkpoint and the metagraph in a
GeneratorBundle protobuf (serialized by hand below; field numbers from note_seq generator.proto),
and records TensorFlow's outputs for one fixed event sequence, encoded here with plain numpy from
Magenta's rules (one-hot or modulo events, controls first) so the expected values do not come from
our engine.

Outputs per layout: <generator_id>.mag and <generator_id>.npz with
  ids [T] int64, inputs [T, D] float32, softmax [T, C] float32 (TensorFlow's),
  notes_per_second [] / pitch_class_histogram [12] (the constant controls used; NaN / empty if none),
  softmax_disabled (optional conditioning only: controls switched off),
  var_names, var_shapes (as text), var_sums (float64) for the checkpoint reader test.
Plus cudnn_variant.mag: a checkpoint under Magenta's use_cudnn scope names, which must be refused.
"""
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_slim  # noqa: E402

tf1 = tf.compat.v1
_ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
OUT_DIR = _ARGS[0] if _ARGS else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "mag")
# --full-size: Magenta's real 3x512 shapes for two layouts, to measure load time and agreement at full scale.
# Weights are then drawn at 2x the Glorot limit: at the tiny fixtures' fixed scale a 512-unit LSTM is chaotic,
# and float32 rounding differences between any two implementations grow ~1.5x per step.
FULL_SIZE = "--full-size" in sys.argv[1:]

DENSITY_RANGES = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
NOTES_PER_SECOND = 5.0  # -> density bin 3 ([4, 8))
HISTOGRAM = np.array([2, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], np.float64)

# generator id -> (velocity bins, controls: '', 'density', 'pitch', 'both', 'optional', encoding, layers)
LAYOUTS = {
    "performance": (0, "", "one_hot", [8, 6]),
    "performance_with_dynamics": (32, "", "one_hot", [8, 8, 8]),
    "performance_with_dynamics_and_modulo_encoding": (32, "", "modulo", [16, 8]),
    "density_conditioned_performance_with_dynamics": (32, "density", "one_hot", [6, 4]),
    "pitch_conditioned_performance_with_dynamics": (32, "pitch", "one_hot", [6, 4]),
    "multiconditioned_performance_with_dynamics": (32, "both", "one_hot", [6, 4]),
    "optional_multiconditioned_performance_with_dynamics": (32, "optional", "one_hot", [8, 4]),
}
# Only this bundle carries its real metagraph (~80 KB, ignored by our loader); the others hold an
# empty one to keep the committed fixtures small.
METAGRAPH_KEPT = "performance_with_dynamics"


# --- a few lines of protobuf wire format (kept separate from the engine on purpose) ---

def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def generator_bundle(generator_id, description, checkpoint, metagraph):
    """magenta.GeneratorBundle: generator_details(1){id(1), description(2)}, checkpoint_file(2),
    metagraph_file(3), bundle_details(4){description(1)}."""
    details = field(1, generator_id) + field(2, description)
    return (field(1, details) + field(2, checkpoint) + field(3, metagraph)
            + field(4, field(1, "tiny random-weight fixture made by tools/make_mag_fixtures.py")))


# --- Magenta's event and control encodings, straight from the spec ---

def event_sequence(num_velocity_bins, rng, length=32):
    """(kind, value) events: velocity changes, notes on and off, time shifts of 1..100 steps."""
    events, sounding = [], []
    while len(events) < length:
        roll = rng.random()
        if roll < 0.15 and num_velocity_bins:
            events.append(("velocity", int(rng.integers(1, num_velocity_bins + 1))))
        elif roll < 0.45:
            pitch = int(rng.integers(0, 128))
            events.append(("note_on", pitch))
            sounding.append(pitch)
        elif roll < 0.65 and sounding:
            events.append(("note_off", sounding.pop(int(rng.integers(len(sounding))))))
        else:
            events.append(("time_shift", int(rng.integers(1, 101))))
    return events


def class_id(kind, value):
    return {"note_on": value, "note_off": 128 + value, "time_shift": 256 + value - 1, "velocity": 356 + value - 1}[kind]


def modulo_vector(kind, value, num_velocity_bins):
    """16 floats: blocks note_on(5) note_off(5) time_shift(3) velocity(3); only the event's block is set."""
    vec = np.zeros(16, np.float64)
    if kind in ("note_on", "note_off"):
        start, a, b = (0 if kind == "note_on" else 5), value * np.pi / 72, (value % 12) * np.pi / 6
        vec[start:start + 5] = [1, np.cos(a), np.sin(a), np.cos(b), np.sin(b)]
    else:
        start, period = (10, 100) if kind == "time_shift" else (13, num_velocity_bins)
        angle = 2 * np.pi * (value - 1) / period
        vec[start:start + 3] = [1, np.cos(angle), np.sin(angle)]
    return vec


def control_vector(controls, disabled=False):
    density = np.zeros(8)
    density[sum(NOTES_PER_SECOND >= r for r in DENSITY_RANGES)] = 1.0
    histogram = HISTOGRAM / HISTOGRAM.sum()
    parts = {"": [], "density": [density], "pitch": [histogram], "both": [density, histogram]}
    if controls == "optional":
        return np.concatenate([[1.0], np.zeros(20)]) if disabled else np.concatenate([[0.0], density, histogram])
    return np.concatenate(parts[controls]) if parts[controls] else np.zeros(0)


def encode_inputs(layout, events, disabled=False):
    bins, controls, encoding, _ = layout
    num_classes = 356 + bins
    rows = []
    for kind, value in events:
        if encoding == "modulo":
            event_vec = modulo_vector(kind, value, bins)
        else:
            event_vec = np.zeros(num_classes)
            event_vec[class_id(kind, value)] = 1.0
        rows.append(np.concatenate([control_vector(controls, disabled), event_vec]))
    return np.array(rows, np.float32)


# --- Magenta's generate graph ---

def build_graph(input_size, num_classes, layer_sizes, cell_name=None):
    inputs = tf1.placeholder(tf.float32, [1, None, input_size], name="inputs")
    temperature = tf1.placeholder_with_default(1.0, [], name="temperature")
    cells = [tf1.nn.rnn_cell.DropoutWrapper(tf1.nn.rnn_cell.BasicLSTMCell(size, forget_bias=1.0, name=cell_name),
                                            output_keep_prob=1.0) for size in layer_sizes]
    cell = tf1.nn.rnn_cell.MultiRNNCell(cells)
    initial_state = cell.zero_state(1, tf.float32)
    outputs, _ = tf1.nn.dynamic_rnn(cell, inputs, initial_state=initial_state, swap_memory=True)
    logits = tf_slim.layers.linear(tf.reshape(outputs, [-1, layer_sizes[-1]]), num_classes)
    softmax = tf.nn.softmax(logits / temperature)
    for name, tensor in (("inputs", inputs), ("temperature", temperature), ("softmax", softmax)):
        tf1.add_to_collection(name, tensor)
    return inputs, softmax


def randomize(session, rng):
    """Random non-zero weights so every gate and every mapping mistake shows in the outputs."""
    for var in tf1.trainable_variables():
        shape = var.shape.as_list()
        scale = 0.7 if len(shape) == 2 else 0.5
        if FULL_SIZE:
            scale = 2 * np.sqrt(6.0 / sum(shape)) if len(shape) == 2 else 0.1
        values = rng.uniform(-scale, scale, shape) if len(shape) == 2 else rng.normal(0.0, scale, shape)
        var.load(values.astype(np.float32), session)


def save_bundle(session, generator_id, path, work_dir, keep_metagraph):
    saver = tf1.train.Saver(write_version=tf1.train.SaverDef.V1, sharded=False)
    ckpt = os.path.join(work_dir, "model.ckpt")
    saver.save(session, ckpt, meta_graph_suffix="meta", write_meta_graph=True)
    with open(ckpt, "rb") as f:
        checkpoint = f.read()
    with open(ckpt + ".meta", "rb") as f:
        metagraph = f.read() if keep_metagraph else b""
    with open(path, "wb") as f:
        f.write(generator_bundle(generator_id, f"fixture for {generator_id}", checkpoint, metagraph))
    return saver


def make_fixture(generator_id, layout, work_dir, seed):
    bins, controls, encoding, layers = layout
    rng = np.random.default_rng(seed)
    events = event_sequence(bins, rng)
    inputs = encode_inputs(layout, events)
    num_classes = 356 + bins
    with tf.Graph().as_default(), tf1.Session() as session:
        ph, softmax = build_graph(inputs.shape[1], num_classes, layers)
        session.run(tf1.global_variables_initializer())
        randomize(session, rng)
        probs = session.run(softmax, {ph: inputs[None]})
        extra = {}
        if controls == "optional":
            extra["softmax_disabled"] = session.run(softmax, {ph: encode_inputs(layout, events, True)[None]})
        save_bundle(session, generator_id, os.path.join(OUT_DIR, generator_id + ".mag"), work_dir,
                    generator_id == METAGRAPH_KEPT)
        variables = {v.op.name: session.run(v) for v in tf1.global_variables()}
    uses_density = controls in ("density", "both", "optional")
    uses_pitch = controls in ("pitch", "both", "optional")
    np.savez_compressed(os.path.join(OUT_DIR, generator_id + ".npz"),
             ids=np.array([class_id(k, v) for k, v in events], np.int64), inputs=inputs,
             softmax=probs.astype(np.float32),
             notes_per_second=np.array(NOTES_PER_SECOND if uses_density else np.nan),
             pitch_class_histogram=HISTOGRAM if uses_pitch else np.zeros(0),
             layer_sizes=np.array(layers, np.int64),
             var_names=np.array(sorted(variables)), var_shapes=np.array([str(list(variables[n].shape)) for n in sorted(variables)]),
             var_sums=np.array([float(variables[n].astype(np.float64).sum()) for n in sorted(variables)]),
             **{k: v.astype(np.float32) for k, v in extra.items()})
    print(f"{generator_id}: {len(events)} events, layers {layers}, "
          f"{os.path.getsize(os.path.join(OUT_DIR, generator_id + '.mag'))} bytes")


def make_cudnn_variant(work_dir):
    """Variables as a use_cudnn=True training run names them: our loader must list and refuse them."""
    with tf.Graph().as_default(), tf1.Session() as session:
        with tf1.variable_scope("cudnn_lstm"):
            build_graph(388, 388, [4, 4], cell_name="cudnn_compatible_lstm_cell")
        session.run(tf1.global_variables_initializer())
        save_bundle(session, "performance_with_dynamics", os.path.join(OUT_DIR, "cudnn_variant.mag"), work_dir, False)
        print("cudnn_variant:", sorted(v.op.name for v in tf1.global_variables()))


def main():
    import tempfile
    tf1.disable_eager_execution()
    os.makedirs(OUT_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory() as work_dir:
        if FULL_SIZE:
            for seed, generator_id in enumerate(["performance_with_dynamics", "multiconditioned_performance_with_dynamics"]):
                make_fixture(generator_id, LAYOUTS[generator_id][:3] + ([512, 512, 512],), work_dir, 100 + seed)
            return
        for seed, (generator_id, layout) in enumerate(LAYOUTS.items()):
            make_fixture(generator_id, layout, work_dir, seed)
        make_cudnn_variant(work_dir)


if __name__ == "__main__":
    main()
