"""Minimal absl.flags: DEFINE_* return holders whose .value is set by
app.run from --name=value / --name value / --[no]name arguments."""

_FLAGS = {}


class FlagHolder:
    def __init__(self, name, default, parser):
        self.name = name
        self.default = default
        self.value = default
        self._parser = parser


def _define(parser):
    def define(name, default, help=None, **kwargs):  # pylint: disable=redefined-builtin,unused-argument
        holder = FlagHolder(name, default, parser)
        _FLAGS[name] = holder
        return holder
    return define


def _bool(s):
    if s.lower() in ("1", "true", "yes"):
        return True
    if s.lower() in ("0", "false", "no"):
        return False
    raise ValueError("not a boolean: " + s)


DEFINE_string = _define(str)
DEFINE_integer = _define(int)
DEFINE_float = _define(float)
DEFINE_bool = DEFINE_boolean = _define(_bool)


def parse(argv):
    """Sets the flags from argv[1:]; returns the remaining arguments (argv[0] first)."""
    rest = [argv[0]] if argv else []
    i = 1
    while i < len(argv):
        a = argv[i]
        i += 1
        if not a.startswith("--") or a == "--":
            rest.append(a)
            continue
        name, eq, value = a[2:].partition("=")
        holder = _FLAGS.get(name)
        if holder is None and name.startswith("no") and name[2:] in _FLAGS and not eq:
            _FLAGS[name[2:]].value = False
            continue
        if holder is None:
            raise SystemExit("FATAL Flags parsing error: Unknown command line flag '%s'" % name)
        if not eq:
            if holder._parser is _bool:
                holder.value = True
                continue
            if i >= len(argv):
                raise SystemExit("FATAL Flags parsing error: flag --%s needs a value" % name)
            value = argv[i]
            i += 1
        holder.value = holder._parser(value)
    return rest
