--- opro.score(response, target, opts) -> correct, prediction: the same
-- function as opro.extract.score (see lua/opro/extract.lua).
return require("opro.extract").score
