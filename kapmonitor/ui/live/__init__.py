"""The nurse's live screen: the main window, tiles, device strip, alarm bar, limits and tones."""
