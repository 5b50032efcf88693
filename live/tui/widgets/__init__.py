"""Instrument widgets: knobs, pitch faders, mode switch, piano roll, keyboard strip, meters."""
