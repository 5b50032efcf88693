"""Modal screens: help, pickers (ports, models) and the save-preset prompt."""
