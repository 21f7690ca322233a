"""Stand-in for `google.generativeai` (PaLM), which google-deepmind/opro's
scripts import but opro-lua's bench never calls (it runs them with an OpenAI
model name against opro-sim). Any use raises."""


def _unavailable(*args, **kwargs):
    raise NotImplementedError("google.generativeai is a stub in opro-lua's bench/ref_stub")


configure = list_models = generate_text = _unavailable
