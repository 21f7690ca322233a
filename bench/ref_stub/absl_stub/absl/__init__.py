"""A tiny stand-in for absl-py (only app.run and flags.DEFINE_string/
DEFINE_integer/DEFINE_bool/DEFINE_float), used by opro-lua's bench when
python3-absl is not installed."""
