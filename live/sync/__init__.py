"""Playing in time with a DAW: MIDI clock in (tempo and transport), groove quantize, MIDI clock out."""
