# One entry point for people and CI: each target builds the virtualenv it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: play panic test bench model model-expressive clean jack chromium fluidsynth synth

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Real MIDI routing without a sound card: a user-space JACK server (Debian's jackd2).
jack:
	@command -v jackd >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jackd2 >/dev/null)

# The --web test looks at the panel in a headless browser (Debian's chromium).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null)

# The notebook renders its performance to audio offline (FluidSynth and a General MIDI soundfont).
fluidsynth:
	@(command -v fluidsynth >/dev/null && test -e /usr/share/sounds/sf2/FluidR3_GM.sf2) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fluidsynth fluid-soundfont-gm >/dev/null)

# The built-in synth: FluidSynth and General MIDI soundfonts from the OS (none is committed). Without root,
# print the one command to run; the instrument then starts MIDI-only.
SYNTH_DEBS := fluidsynth libfluidsynth3 fluid-soundfont-gm timgm6mb-soundfont
synth:
	@test -e /usr/share/sounds/sf2/FluidR3_GM.sf2 -a -n "$$(ldconfig -p | grep libfluidsynth)" || \
	( [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYNTH_DEBS) >/dev/null ) || \
	echo "for sound: sudo apt-get install $(SYNTH_DEBS)  (macOS: brew install fluid-synth)"

play: $(STAMP) jack synth
	$(BIN)/performance_rnn_live $(ARGS)

# After a crash or kill -9 left notes sounding: `make panic` (every output) or `make panic ARGS="--output NAME"`.
panic: $(STAMP)
	$(BIN)/performance_rnn_live --panic $(ARGS)

test: $(STAMP) jack chromium fluidsynth synth
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

# The shipped model (MODEL_CARD.md): music21 corpus -> dataset -> 3x256 LSTM on the CPU -> bundle -> evaluation.
M21_SOURCES := bach,palestrina,monteverdi,trecento,josquin,mozart,haydn,schumann_robert,schumann_clara,chopin,joplin,handel,corelli,cpebach,schubert,weber,verdi,oneills1850
MODEL_CONFIG := optional_multiconditioned_performance_with_dynamics
MODEL_HPARAMS := batch_size=32,rnn_layer_sizes=[256,256,256],learning_rate=0.002
MODEL_STEPS ?= 2300
CHORALES_LICENSE := Apache-2.0 (this project's licence; the training scores are public-domain works from the music21 corpus)
CHORALES_DATA := music21 corpus scores ($(M21_SOURCES)): notated music, no expressive timing or dynamics
model: $(STAMP)
	$(BIN)/performance_rnn_create_dataset --config=$(MODEL_CONFIG) --input=music21:$(M21_SOURCES) \
		--output_dir=data/m21 --eval_ratio=0.05 --seed=1
	$(BIN)/performance_rnn_train --config=$(MODEL_CONFIG) --run_dir=runs/default --bf16 --seed=1 \
		--sequence_example_file=data/m21/training_performances.safetensors --hparams='$(MODEL_HPARAMS)' \
		--num_training_steps=$(MODEL_STEPS) --checkpoint_every_seconds=300
	$(BIN)/performance_rnn_generate --save_generator_bundle --run_dir=runs/default \
		--bundle_file=engine/models/chorales.safetensors \
		--bundle_description="chorales: 3x256 LSTM, optional multiconditioned, music21 corpus scores (MODEL_CARD.md)" \
		--bundle_license="$(CHORALES_LICENSE)" --bundle_training_data="$(CHORALES_DATA)"
	$(BIN)/performance_rnn_evaluate --bundle_file=engine/models/chorales.safetensors --dataset_dir=data/m21 \
		--steering=both --json=engine/models/chorales.eval.json

# The expressive model (MODEL_CARD.md): real piano performances (ASAP: `git clone` fosfrancesco/asap-dataset, or
# any folder of performance MIDI such as MAESTRO) -> dataset split by piece folder -> 3x256 LSTM warm-started from
# the chorales model, lr 2e-3, then a second phase at lr 5e-4 (a step decay) -> bundle -> evaluation.
# Re-running resumes each phase from its last intact checkpoint.
DATA ?= ../shared/datasets/asap/performances
EXPRESSIVE_STEPS ?= 5868
EXPRESSIVE_DECAY_STEPS ?= 1835
EXPRESSIVE_HPARAMS_2 := batch_size=32,rnn_layer_sizes=[256,256,256],learning_rate=0.0005
EXPRESSIVE_LICENSE := CC BY-NC-SA 4.0 (adapted from the ASAP dataset and MAESTRO; non-commercial, share-alike)
EXPRESSIVE_DATA := ASAP dataset (Foscarin et al., ISMIR 2020): 1,067 Disklavier performances from MAESTRO v2 (Hawthorne et al., ICLR 2019), Yamaha e-Piano Competition; split by piece
model-expressive: $(STAMP)
	$(BIN)/performance_rnn_create_dataset --config=$(MODEL_CONFIG) --input=$(DATA) --exclude=midi_score.mid \
		--split_by=folder --output_dir=data/expressive --eval_ratio=0.1 --seed=1
	$(BIN)/performance_rnn_train --config=$(MODEL_CONFIG) --run_dir=runs/expressive --bf16 --seed=1 \
		--sequence_example_file=data/expressive/training_performances.safetensors --hparams='$(MODEL_HPARAMS)' \
		--warm_start_bundle_file=engine/models/chorales.safetensors \
		--num_training_steps=$(EXPRESSIVE_STEPS) --checkpoint_every_seconds=300
	$(BIN)/performance_rnn_generate --save_generator_bundle --run_dir=runs/expressive \
		--bundle_file=runs/expressive_phase1.safetensors
	$(BIN)/performance_rnn_train --config=$(MODEL_CONFIG) --run_dir=runs/expressive2 --bf16 --seed=2 \
		--sequence_example_file=data/expressive/training_performances.safetensors --hparams='$(EXPRESSIVE_HPARAMS_2)' \
		--warm_start_bundle_file=runs/expressive_phase1.safetensors \
		--num_training_steps=$(EXPRESSIVE_DECAY_STEPS) --checkpoint_every_seconds=240
	$(BIN)/performance_rnn_generate --save_generator_bundle --run_dir=runs/expressive2 \
		--bundle_file=engine/models/expressive.safetensors \
		--bundle_description="expressive: 3x256 LSTM, optional multiconditioned, real piano performances (MODEL_CARD.md)" \
		--bundle_license="$(EXPRESSIVE_LICENSE)" --bundle_training_data="$(EXPRESSIVE_DATA)"
	$(BIN)/performance_rnn_evaluate --bundle_file=engine/models/expressive.safetensors --dataset_dir=data/expressive \
		--steering=both --json=engine/models/expressive.eval.json

clean:
	rm -rf $(VENV) build *.egg-info
