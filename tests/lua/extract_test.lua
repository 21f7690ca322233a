-- opro.extract: every rule of the reference's answer normalization and
-- accuracy (google-deepmind/opro metrics.py get_normalized_prediction and
-- eval_utils.py _get_accuracy, run the way evaluate_single_instruction runs
-- them) on realistic model outputs for GSM8K, MultiArith, AQuA, MMLU and
-- BBH tasks. Expected predictions and verdicts are what the reference code
-- gives for the same inputs (derived by running it; see docs/extraction.md).
-- Cases named SURPRISE are reference behaviours that look wrong; each is
-- explained in the comment above it and kept as the reference has it.
local T = require "testlib"
local X = opro.extract

local AQUA_Q = "A train running at the speed of 60 km/hr crosses a pole in 9 seconds. What is the length of the train?\n(A)120 metres\n(B)180 metres\n(C)324 metres\n(D)150 metres\n(E)None of these\nWhat's the answer in (A) (B) (C) (D) (E)?"
local MMLU_Q = "What is the capital of France?\n(A) Paris\n(B) London\n(C) Berlin\n(D) Madrid\nWhat's the answer in (A) (B) (C) (D)?"
local DATE_Q = "Today is Christmas Eve of 1937. What is the date tomorrow in MM/DD/YYYY?\nOptions:\n(A) 12/11/1937\n(B) 12/25/1937\n(C) 01/04/1938\n(D) 12/04/1937\n(E) 12/25/2006\n(F) 07/25/1937"
local GEO_Q = "This SVG path element <path d=\"M 55.57,80.69 L 57.38,65.80 M 57.38,65.80 L 48.90,57.46\"/> draws a\nOptions:\n(A) circle\n(B) heptagon\n(C) hexagon\n(D) kite\n(E) line\n(F) octagon\n(G) pentagon\n(H) rectangle\n(I) sector\n(J) triangle"
local LOGIC_Q = "The following paragraphs each describe a set of three objects arranged in a fixed order. On a shelf, there are three books: a white book, a green book, and an orange book. The green book is to the right of the white book. The orange book is the rightmost.\nOptions:\n(A) The white book is the leftmost\n(B) The green book is the leftmost\n(C) The orange book is the leftmost"
local SNARKS_Q = "Which statement is sarcastic?\nOptions:\n(A) Yeah, anarchism is taught as a prime example of a thriving system\n(B) Yeah, anarchism is taught as a prime example of a failed system"
local PENG_Q = "Here is a table where the first line is a header and each subsequent line is a penguin: name, age, height (cm), weight (kg) Louis, 7, 50, 11 Bernard, 5, 80, 13 Vincent, 9, 60, 11 Gwen, 8, 70, 15 How many penguins are more than 5 years old?\nOptions:\n(A) 1\n(B) 2\n(C) 3\n(D) 4\n(E) 5"
local HYPER_Q = "Which sentence has the correct adjective order:\nOptions:\n(A) rubber terrible ship\n(B) terrible rubber ship"
local SUN = "From which direction does the sun rise in the morning? (A) west (B) east (C) north (D) south"
local CASES = {
  { name = "gsm8k: chain of thought ending in 'The answer is'", kind = "number", response = "Natalia sold 48 clips in April. In May she sold half as many, 48 / 2 = 24 clips.\nAltogether she sold 48 + 24 = 72 clips.\nThe answer is 72.", target = "72", pred = "72", ok = true },
  { name = "gsm8k: '####' answer line of the GSM8K solutions", kind = "number", response = "Weng earns 12 / 60 = $0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = $10.\n#### 10", target = "10", pred = "10", ok = true },
  { name = "gsm8k: answer followed by a hallucinated 'Q:' question is cut there", kind = "number", response = "Betty has 100 / 2 = 50 dollars. She needs 100 - 50 - 15 - 30 = 5 more.\nThe answer is 5.\n\nQ: Julie is reading a 120-page book. Yesterday she read 12 pages. The answer is 42.", target = "5", pred = "5", ok = true },
  { name = "gsm8k: 'Question:' (any language's delimiter) also cuts", kind = "number", response = "So he pays 3 * 4 = 12 dollars. The answer is 12.\nQuestion: How many apples does Tom have? Answer: 7", target = "12", pred = "12", ok = true },
  { name = "gsm8k: currency, thousands separators and the trailing period are dropped", kind = "number", response = "The house cost $80,000 and repairs $50,000, so he spent $130,000. The answer is $130,000.", target = "130000", pred = "130000", ok = true },
  { name = "gsm8k: after the last '=' comes the number", kind = "number", response = "The answer is 5 * 8 + 2 = 42", target = "42", pred = "42", ok = true },
  { name = "gsm8k: percent sign dropped", kind = "number", response = "So the discount is 25%. The answer is 25%.", target = "25", pred = "25", ok = true },
  { name = "gsm8k: number words become digits", kind = "number", response = "Each friend gets two cookies. The answer is eight.", target = "8", pred = "8", ok = true },
  -- surprising: "seven" is replaced before "seventeen", giving "7teen"; then
  -- trailing letters are cut: the prediction is 7, not 17
  { name = "gsm8k: SURPRISE 'seventeen' normalizes to 7", kind = "number", response = "The answer is seventeen.", target = "17", pred = "7", ok = false },
  -- surprising: "one" inside "none" becomes 1, and the first token with a digit wins
  { name = "gsm8k: SURPRISE 'none' contains 'one' and becomes 'n1'", kind = "number", response = "The answer is none of them, it is 6", target = "6", pred = "1", ok = false },
  { name = "gsm8k: units glued to the number are stripped ('156kgs', '823-yard')", kind = "number", response = "The answer is 156kgs.", target = "156", pred = "156", ok = true },
  { name = "gsm8k: hyphenated unit", kind = "number", response = "He ran a total of 823-yard.", target = "823", pred = "823", ok = true },
  { name = "gsm8k: answer indicated -> first number after the marker", kind = "number", response = "The answer is 5 apples and 3 oranges.", target = "5", pred = "5", ok = true },
  { name = "gsm8k: no marker -> last number of the text", kind = "number", response = "Tom has 5 apples and gets 3 more, so he has 8", target = "8", pred = "8", ok = true },
  -- surprising: the primary markers are looked up case-sensitively in the raw
  -- response, so "The Answer is" is no marker and the last number (7) wins
  { name = "gsm8k: SURPRISE 'The Answer is' (capital A) is no answer marker", kind = "number", response = "The Answer is 42 because 6 times 7", target = "42", pred = "7", ok = false },
  { name = "gsm8k: lower-case marker for comparison", kind = "number", response = "the answer is 42 because 6 times 7", target = "42", pred = "42", ok = true },
  -- surprising: split(' ') makes an empty token between two spaces, and an empty
  -- token counts as "not alphabetic": the prediction becomes ""
  { name = "gsm8k: SURPRISE a double space before the unit gives an empty prediction", kind = "number", response = "He has 5  apples left", target = "5", pred = "", ok = false },
  { name = "gsm8k: half-to-even rounding (2.5 -> 2)", kind = "number", response = "The answer is 2.5", target = "3", pred = "2", ok = false },
  { name = "gsm8k: half-to-even rounding (3.5 -> 4)", kind = "number", response = "The answer is 3.5", target = "4", pred = "4", ok = true },
  { name = "gsm8k: a time keeps what is before ':'", kind = "number", response = "The answer is 12:30", target = "12", pred = "12", ok = true },
  { name = "gsm8k: 'is:' is a secondary marker used when no primary one exists", kind = "number", response = "Total eggs per day is: 16 - 3 - 4 = 9 eggs", target = "9", pred = "9", ok = true },
  { name = "gsm8k: 'X is the correct answer' marker", kind = "number", response = "After checking, 18 is the correct answer.", target = "18", pred = "18", ok = true },
  { name = "gsm8k: negative number", kind = "number", response = "The temperature change is -7 degrees. The answer is -7.", target = "-7", pred = "-7", ok = true },
  { name = "gsm8k: decimal answer rounds to the target's precision (decimals=0)", kind = "number", response = "The answer is 10.4", target = "10", pred = "10", ok = true },
  { name = "gsm8k: empty output", kind = "number", response = "", target = "18", pred = "", ok = false },
  { name = "gsm8k: Arabic-Indic digits are digits for float() too", kind = "number", response = "\u{627}\u{644}\u{62C}\u{648}\u{627}\u{628} \u{647}\u{648} \u{661}\u{668}", target = "18", pred = "18", ok = true },
  { name = "gsm8k: full-width digits", kind = "number", response = "The answer is \u{FF11}\u{FF18}.", target = "18", pred = "18", ok = true },
  { name = "gsm8k: no number at all keeps the text", kind = "number", response = "I cannot solve this problem.", target = "5", pred = "", ok = false },
  -- surprising: when no token converts, the digits come from re (\d+)(?!.*\d):
  -- the LAST run of digits of the FIRST line that has digits
  { name = "gsm8k: SURPRISE digit fallback takes the first line's last digits", kind = "number", response = "The answer is x3y4\nz9", target = "4", pred = "4", ok = true },
  { name = "gsm8k: 'Step-by-Step Answer:' delimiter", kind = "number", response = "Step-by-Step Answer: 3 + 4 = 7 apples", target = "7", pred = "7", ok = true },
  { name = "gsm8k: German 'Schritt-f\u{FC}r-Schritt-Antwort:' delimiter", kind = "number", response = "Schritt-f\u{FC}r-Schritt-Antwort: 3 + 4 = 7 \u{C4}pfel", target = "7", pred = "7", ok = true },
  { name = "gsm8k: the 'this is the solution:' ablation format", kind = "number", response = "42 this is the solution: 6 * 7 = 42", target = "42", pred = "42", ok = true },
  { name = "multiarith: integer target", kind = "number", response = "There are 9 friends and 27 candies, so each friend gets 27 / 9 = 3 candies. The answer is 3.", target = "3", pred = "3", ok = true },
  { name = "multiarith: wrong answer", kind = "number", response = "Each gets 27 - 9 = 18. The answer is 18.", target = "3", pred = "18", ok = false },
  { name = "aqua: bracketed letter", kind = "choice", response = "Speed = 60 * 5/18 = 50/3 m/s. Length = 50/3 * 9 = 150 m. The answer is (D).", target = "D", input = AQUA_Q, pred = "(d)", ok = true },
  { name = "aqua: option text instead of the letter", kind = "choice", response = "Length = 150 m. The answer is 150 metres.", target = "D", input = AQUA_Q, pred = "150 metres", ok = true },
  { name = "aqua: letter without brackets", kind = "choice", response = "The answer is D", target = "D", input = AQUA_Q, pred = "d", ok = true },
  { name = "aqua: wrong letter", kind = "choice", response = "The answer is (B).", target = "D", input = AQUA_Q, pred = "(b)", ok = false },
  -- surprising: with two letters and no marker nothing is extracted, but the
  -- substring leniency accepts any prediction that contains "(d)"
  -- (and the bare-letter target "D" would also match any "d" in the text)
  { name = "aqua: SURPRISE two letters mentioned, still correct by inclusion", kind = "choice", response = "Between (D) and (B), I would pick (B)", target = "D", input = AQUA_Q, pred = "between (d) and (b), i would pick (b)", ok = true },
  -- surprising: when exactly one letter occurs, the FIRST parenthesized text
  -- is taken, which need not be the letter
  { name = "aqua: SURPRISE first parenthesized text wins over the letter", kind = "choice", response = "The answer is (about 150 m) (D)", target = "D", input = AQUA_Q, pred = "(about 150 m)", ok = false },
  { name = "mmlu: letter", kind = "choice", response = "Paris is the capital. The answer is (A).", target = "A", input = MMLU_Q, pred = "(a)", ok = true },
  { name = "mmlu: bare letter answer", kind = "choice", response = "A", target = "A", input = MMLU_Q, pred = "a", ok = true },
  { name = "mmlu: option text", kind = "choice", response = "The answer is Paris.", target = "A", input = MMLU_Q, pred = "paris", ok = true },
  { name = "mmlu: option text with other options absent", kind = "choice", response = "The answer is the city of Paris", target = "A", input = MMLU_Q, pred = "the city of paris", ok = true },
  -- surprising: the option-text rule rejects "paris or london" (another
  -- option's text is present), but MMLU/AQuA targets are bare letters and the
  -- substring leniency tests the bare letter: "a" is in "paris"
  { name = "mmlu: SURPRISE another option present, still correct: 'a' is in 'paris'", kind = "choice", response = "The answer is Paris or London", target = "A", input = MMLU_Q, pred = "paris or london", ok = true },
  -- surprising: for the same reason any prediction containing the letter "a"
  -- is correct for target "A", even one naming another option
  { name = "mmlu: SURPRISE target 'A' accepts 'Berlin, I am sure' (has an 'a')", kind = "choice", response = "The answer is Berlin, I am sure", target = "A", input = MMLU_Q, pred = "berlin, i am sure", ok = true },
  { name = "mmlu: target 'B' does not accept 'Paris' (no 'b' in it)", kind = "choice", response = "The answer is Paris", target = "B", input = MMLU_Q, pred = "paris", ok = false },
  { name = "mmlu: SURPRISE both letters present: correct for A", kind = "choice", response = "The answer is (A) Paris, not (B) London", target = "A", input = MMLU_Q, pred = "(a) paris, not (b) london", ok = true },
  { name = "mmlu: SURPRISE both letters present: correct for B too", kind = "choice", response = "The answer is (A) Paris, not (B) London", target = "B", input = MMLU_Q, pred = "(a) paris, not (b) london", ok = true },
  { name = "mmlu: hallucinated next question", kind = "choice", response = "The answer is (C).\nQ: What is the capital of Spain? The answer is (D).", target = "C", input = MMLU_Q, pred = "(c)", ok = true },
  { name = "bbh boolean_expressions: True/False", kind = "boolean", response = "not ( True ) and ( True ) = False and True = False. So the answer is False.", target = "False", pred = "false", ok = true },
  -- surprising: the prediction is only mapped to true/false, never to yes/no,
  -- so "yes" does not match the target "True"
  { name = "bbh boolean_expressions: SURPRISE 'yes' does not match 'True'", kind = "boolean", response = "The answer is yes.", target = "True", pred = "yes", ok = false },
  { name = "bbh boolean_expressions: 1 means True", kind = "boolean", response = "The answer is 1", target = "True", pred = "true", ok = true },
  { name = "bbh causal_judgement: Yes/No", kind = "boolean", response = "Frank T. had no intention of shooting... Most people would say no. So the answer is No.", target = "No", pred = "no", ok = true },
  -- surprising: inclusion leniency: "no" is a substring of "not clear"
  { name = "bbh causal_judgement: SURPRISE 'not clear' counts as 'No'", kind = "boolean", response = "The answer is not clear.", target = "No", pred = "not clear", ok = true },
  { name = "bbh formal_fallacies: valid", kind = "boolean", response = "The argument is deductively sound. So the answer is valid.", target = "valid", pred = "valid", ok = true },
  -- surprising: "valid" is a substring of "invalid", so the exact opposite
  -- answer is scored correct
  { name = "bbh formal_fallacies: SURPRISE 'invalid' counts as 'valid'", kind = "boolean", response = "So the answer is invalid.", target = "valid", pred = "invalid", ok = true },
  { name = "bbh formal_fallacies: 'valid' is not 'invalid'", kind = "boolean", response = "So the answer is valid.", target = "invalid", pred = "valid", ok = false },
  { name = "bbh navigate: yes", kind = "boolean", response = "We end at (0, 0), the starting point. So the answer is Yes.", target = "Yes", pred = "yes", ok = true },
  { name = "bbh navigate: 'true' counts as yes", kind = "boolean", response = "The answer is true", target = "Yes", pred = "true", ok = true },
  { name = "bbh sports_understanding: no", kind = "boolean", response = "Joao Moutinho is a soccer player; a touchdown is from American football. So the answer is no.", target = "no", pred = "no", ok = true },
  { name = "bbh web_of_lies: yes with a following question", kind = "boolean", response = "Leda tells the truth, so Jaymie lies... So the answer is Yes.\n\nQ: Question: Sherrie tells the truth.", target = "Yes", pred = "yes", ok = true },
  { name = "bbh object_counting: number words", kind = "number", response = "I have a piano, a flute, and four trombones. 1 + 1 + 4 = 6. So the answer is six.", target = "6", pred = "6", ok = true },
  { name = "bbh multistep_arithmetic_two: negative result after '='", kind = "number", response = "((-1 + 2) * (3 - 6)) = (1 * -3) = -3. So the answer is -3.", target = "-3", pred = "-3", ok = true },
  { name = "bbh date_understanding: letter", kind = "choice", response = "Tomorrow is 12/25/1937. So the answer is (B).", target = "(B)", input = DATE_Q, pred = "(b)", ok = true },
  { name = "bbh date_understanding: option text", kind = "choice", response = "So the answer is 12/25/1937", target = "(B)", input = DATE_Q, pred = "12/25/1937", ok = true },
  { name = "bbh geometric_shapes: letter", kind = "choice", response = "The path has 6 lines... it is a hexagon. So the answer is (C).", target = "(C)", input = GEO_Q, pred = "(c)", ok = true },
  { name = "bbh logical_deduction_three_objects: letter", kind = "choice", response = "White, green, orange from left to right. So the answer is (A).", target = "(A)", input = LOGIC_Q, pred = "(a)", ok = true },
  { name = "bbh snarks: letter", kind = "choice", response = "Anarchism is rarely called thriving. So the answer is (A).", target = "(A)", input = SNARKS_Q, pred = "(a)", ok = true },
  { name = "bbh penguins_in_a_table: option text is a number", kind = "choice", response = "Louis, Vincent and Gwen are more than 5. So the answer is 3.", target = "(C)", input = PENG_Q, pred = "3", ok = true },
  { name = "bbh hyperbaton: option text", kind = "choice", response = "Opinion comes before material. So the answer is terrible rubber ship.", target = "(B)", input = HYPER_Q, pred = "terrible rubber ship", ok = true },
  { name = "bbh dyck_languages: free text", kind = "text", response = "We close the brackets in order. So the answer is ] ] ).", target = "] ] )", pred = "] ] )", ok = true },
  -- surprising: text answers keep what is before the first ".", so a sorted
  -- word list with an abbreviation breaks
  { name = "bbh word_sorting: SURPRISE text is cut at the first period", kind = "text", response = "So the answer is apple banana dr. cherry", target = "apple banana dr. cherry", pred = "apple banana dr", ok = false },
  { name = "bbh word_sorting: free text", kind = "text", response = "The answer is apple banana cherry.", target = "apple banana cherry", pred = "apple banana cherry", ok = true },
  { name = "boxed: the reference takes the boxed text as is", kind = "number", response = "So the total is \\boxed{18}.", target = "18", boxed = true, pred = "18", ok = true },
  { name = "boxed: SURPRISE boxed '18.00' is not normalized and does not match 18", kind = "number", response = "Total: \\boxed{18.00}", target = "18", boxed = true, pred = "18.00", ok = false },
  { name = "boxed: SURPRISE nested braces end the reference's boxed text early", kind = "text", response = "The ratio is \\boxed{\\frac{1}{2}}", target = "\\frac{1}{2}", boxed = true, pred = "\\frac{1", ok = false },
  { name = "unicode: final sigma lower-cases alike on both sides", kind = "text", response = "The answer is \u{39F}\u{394}\u{39F}\u{3A3}.", target = "\u{39F}\u{394}\u{39F}\u{3A3}", pred = "\u{3BF}\u{3B4}\u{3BF}\u{3C2}", ok = true },
  -- surprising: Python lower-cases "\u0130" (I with dot) to "i" + combining dot
  { name = "unicode: SURPRISE '\u{130}stanbul' does not match 'istanbul'", kind = "text", response = "The answer is istanbul", target = "\u{130}stanbul", pred = "istanbul", ok = false },
  { name = "unicode: accented text answer", kind = "text", response = "La r\u{E9}ponse: the answer is Caf\u{E9}.", target = "caf\u{E9}", pred = "caf\u{E9}", ok = true },
  { name = "unicode: Chinese question delimiter cuts", kind = "number", response = "\u{7B54}\u{6848}\u{662F} 7\n\u{95EE}\u{9898}\u{FF1A} 9", target = "7", pred = "7", ok = true },
}

for _, c in ipairs(CASES) do
  T.test(c.name, function()
    local opts = { kind = c.kind, input = c.input, boxed = c.boxed }
    local ok, pred = X.score(c.response, c.target, opts)
    T.eq(pred, c.pred, "prediction")
    T.eq(ok, c.ok, "verdict")
    T.eq(X.normalize(c.response, opts), c.pred, "normalize gives the prediction score compares")
  end)
end

T.test("score_all gives the verdicts of score, grouped by options", function()
  local groups = {}
  for _, c in ipairs(CASES) do
    local key = c.kind .. tostring(c.boxed)
    local g = groups[key]
    if not g then
      g = { opts = { kind = c.kind, boxed = c.boxed, input = {}, predictions = true }, r = {}, t = {}, want = {}, preds = {} }
      groups[key] = g
    end
    local i = #g.r + 1
    g.r[i], g.t[i], g.opts.input[i], g.want[i], g.preds[i] = c.response, c.target, c.input, c.ok, c.pred
  end
  local total = 0
  for _, g in pairs(groups) do
    local list, count, preds = X.score_all(g.r, g.t, g.opts)
    T.eq(list, g.want)
    T.eq(preds, g.preds)
    local n = 0
    for _, v in ipairs(g.want) do if v then n = n + 1 end end
    T.eq(count, n)
    total = total + #list
  end
  T.eq(total, #CASES)
end)

T.test("score_all with one input string for every item", function()
  local list, n = X.score_all({ "The answer is (A).", "The answer is Berlin.", "(D)" }, { "A", "C", "A" },
    { kind = "choice", input = MMLU_Q })
  T.eq(list, { true, true, false })
  T.eq(n, 2)
end)

-- score_all reads items in blocks of 32, one block ahead, and drops the
-- values of the blocks scored every 8 blocks: lists of other lengths,
-- tables with metatables, number targets and a bad item far down the list
-- must give what score gives item by item.
T.test("score_all over several blocks agrees with score, item by item", function()
  local r, t, nt, want, n = {}, {}, {}, {}, 0
  for i = 1, 703 do
    r[i] = (i % 5 == 0 and "Ünïcode: ΣΑΣ. " or "") .. "She has " .. i .. " apples and " .. (i * 2) .. " pears. The answer is " .. i .. "."
    nt[i] = i % 4 == 0 and i + 1 or i
    t[i] = tostring(nt[i])
    want[i] = X.score(r[i], t[i], { kind = "number" })
    if want[i] then n = n + 1 end
  end
  T.eq(n, 703 - 175) -- every 4th target is off by one
  for _, len in ipairs({ 0, 1, 31, 32, 33, 64, 65, 203, 255, 256, 257, 288, 289, 703 }) do
    local rr, tt = table.move(r, 1, len, 1, {}), table.move(t, 1, len, 1, {})
    local list, count, preds = X.score_all(rr, tt, { kind = "number", predictions = true })
    T.eq(#list, len)
    local c = 0
    for i = 1, len do
      T.eq(list[i], want[i])
      T.eq(preds[i], select(2, X.score(r[i], t[i], { kind = "number" })))
      if want[i] then c = c + 1 end
    end
    T.eq(count, c)
  end
  -- number targets are turned into strings as score does
  local list, count = X.score_all(r, nt, { kind = "number" })
  T.eq(list, want)
  T.eq(count, n)
  -- tables read through metatables
  local pr = setmetatable({}, { __index = r, __len = function() return #r end })
  local pt = setmetatable({}, { __index = t, __len = function() return #t end })
  list, count = X.score_all(pr, pt, { kind = "number" })
  T.eq(list, want)
  T.eq(count, n)
  -- a bad item past the first blocks is still reported by index
  local bad = table.move(r, 1, #r, 1, {})
  bad[150] = 7
  T.raises(function() X.score_all(bad, t, { kind = "number" }) end, "responses[150] is a number")
  bad[150] = r[150]
  bad[601] = true
  T.raises(function() X.score_all(bad, t, { kind = "number" }) end, "responses[601] is a boolean")
  local badt = table.move(t, 1, #t, 1, {})
  badt[99] = {}
  T.raises(function() X.score_all(r, badt, { kind = "number" }) end, "targets[99] must be a string or a number")
end)

T.test("score_all with a list of inputs over several blocks", function()
  local r, t, inputs, want = {}, {}, {}, {}
  for i = 1, 600 do
    local right = i % 2 == 0
    r[i] = right and "The answer is (B)." or "I think it is west."
    t[i] = "(B)"
    inputs[i] = i % 7 ~= 0 and SUN or nil
    want[i] = X.score(r[i], t[i], { kind = "choice", input = inputs[i] })
  end
  local list = X.score_all(r, t, { kind = "choice", input = inputs })
  T.eq(list, want)
  T.eq(list[2], true)
  T.eq(list[1], false)
  local pinputs = setmetatable({}, { __index = inputs, __len = function() return #inputs end })
  T.eq(X.score_all(r, t, { kind = "choice", input = pinputs }), want)
  inputs[40] = 5
  T.raises(function() X.score_all(r, t, { kind = "choice", input = inputs }) end, "inputs[40] is a number")
  inputs[40] = SUN
  inputs[580] = {}
  T.raises(function() X.score_all(r, t, { kind = "choice", input = inputs }) end, "inputs[580] is a table")
end)

T.test("opro.score is opro.extract.score", function()
  T.eq(opro.score, X.score)
  T.eq(select("#", opro.score("The answer is 4.", "4", { kind = "number" })), 2)
end)

T.test("long output: 20,000 lines of reasoning, then the answer", function()
  local lines = {}
  for i = 1, 20000 do lines[i] = string.format("Step %d: we add %d apples to get %d apples.", i, i, i * (i + 1) // 2) end
  lines[#lines + 1] = "The answer is 200010000."
  local text = table.concat(lines, "\n")
  local ok, pred = X.score(text, "200010000", { kind = "number" })
  T.eq(pred, "200010000")
  T.ok(ok)
  -- the same text with a made-up follow-on question keeps the earlier answer
  ok, pred = X.score(text .. "\nQ: And then 7 more?\nThe answer is 7.", "200010000", { kind = "number" })
  T.eq(pred, "200010000")
  T.ok(ok)
end)

T.test("long output without a marker: the last number of the text", function()
  local text = string.rep("So far 12 items were checked and none are wrong; ", 5000) .. "in total 99"
  local _, pred = X.score(text, "99", { kind = "number" })
  T.eq(pred, "99")
end)

T.test("empty output for every kind", function()
  for _, kind in ipairs({ "text", "number", "boolean", "choice" }) do
    local ok, pred = X.score("", "(A)", { kind = kind, input = MMLU_Q })
    T.eq(pred, "", kind)
    T.eq(ok, false, kind)
  end
  -- an empty target is contained in every prediction (substring leniency)
  T.eq((X.score("anything", "", { kind = "text" })), true)
end)

T.test("bytes that are not UTF-8 pass through and never crash", function()
  -- an invalid byte is neither a letter nor a digit (as Python would see a
  -- surrogate-escaped byte): "\xff\xfe" is the first non-alphabetic token
  T.eq(X.normalize("The answer is \xff\xfe 42.", { kind = "number" }), "\xff\xfe")
  local ok, pred = X.score("The answer is 42\x80.", "42", { kind = "number" })
  T.eq(pred, "42")
  T.ok(ok)
  T.eq(X.normalize("\xc3The answer is \xe9t\xe9", { kind = "text" }), "\xe9t\xe9")
end)

T.test("decimals rounds like Python's round() and format", function()
  T.eq(X.normalize("The answer is 3.14159", { kind = "number", decimals = 2 }), "3.14")
  T.eq(X.normalize("The answer is 0.125", { kind = "number", decimals = 2 }), "0.12") -- half to even
  T.eq(X.normalize("The answer is 7", { kind = "number", decimals = 1 }), "7.0")
  T.eq(X.normalize("The answer is -0.4", { kind = "number" }), "-0") -- round(-0.4) is -0.0
  T.eq(X.normalize("The answer is 1e400", { kind = "number" }), "inf")
  T.eq(X.normalize("The answer is 1_000", { kind = "number" }), "1000") -- float() takes '_'
  -- "nan" is all letters, and trailing letters are cut: nothing is left
  T.eq(X.normalize("The answer is nan", { kind = "number" }), "")
  T.raises(function() X.normalize("1", { kind = "number", decimals = -1 }) end, "decimals")
end)

T.test("kind 'adaptive' (the reference's MATH setting) treats numeric targets as numbers", function()
  T.eq({ X.score("The answer is 1,000 dollars.", "1000", { kind = "adaptive" }) }, { true, "1000" })
  -- a non-numeric target: text rules and the substring leniency
  T.eq({ X.score("The answer is x = 3.", "x = 3", { kind = "adaptive" }) }, { true, "x = 3" })
  T.eq(X.normalize("The answer is 12 apples", { kind = "adaptive", target = "12" }), "12")
  T.raises(function() X.normalize("12", { kind = "adaptive" }) end, "opts.target")
end)

T.test("include_ok overrides the substring leniency", function()
  T.eq((X.score("The answer is not clear.", "No", { kind = "boolean" })), true)
  T.eq((X.score("The answer is not clear.", "No", { kind = "boolean", include_ok = false })), false)
  T.eq((X.score("The answer is 1234", "23", { kind = "number" })), false)
  T.eq((X.score("The answer is 1234", "23", { kind = "number", include_ok = true })), true)
end)

T.test("number and boolean flags can be combined as in the reference", function()
  -- treat_as_bool with a numeric reading: "1" -> true
  T.eq(X.normalize("The answer is 1.", { kind = "boolean" }), "true")
  T.eq(X.normalize("The answer is 0", { boolean = true, number = true }), "false")
  T.eq(X.normalize("The answer is (A) yes", { kind = "boolean" }), "a")
end)

T.test("targets given as numbers are formatted as Python's str()", function()
  T.eq({ X.score("The answer is 3.", 3, { kind = "number" }) }, { true, "3" })
  T.eq(X.pystr(2.5), "2.5")
  T.eq(X.pystr(3.0), "3.0")
  T.eq(X.pystr(true), "True")
  -- MultiArith targets are integers: "3.0" would not be the string "3"
  T.eq((X.score("The answer is 3.", 3.0, { kind = "number" })), false)
end)

T.test("boxed = 'normalize': the last balanced \\boxed{} is normalized", function()
  T.eq({ X.score("Total: \\boxed{18.00}", "18", { kind = "number", boxed = "normalize" }) }, { true, "18" })
  T.eq(X.normalize("First \\boxed{1}, finally \\boxed{\\frac{1}{2}}", { boxed = "normalize" }), "\\frac{1}{2}")
  -- the reference's rule takes the first one, up to the first "}"
  T.eq(X.normalize("First \\boxed{1}, finally \\boxed{\\frac{1}{2}}", { boxed = true }), "1")
  -- "\boxed" without a match: the reference raises IndexError; we normalize the text
  local r = "The answer is \\boxed 5"
  T.eq(X.normalize(r, { kind = "number", boxed = true }), X.normalize(r, { kind = "number" }))
  T.eq(X.normalize("So \\boxed 5", { kind = "number", boxed = true }), "5")
  T.eq(X.boxed("a \\boxed{x\ny}"), false)
  T.eq(X.boxed("no box"), nil)
end)

T.test("post = false returns get_normalized_prediction itself", function()
  local r = "The answer is: \nfoo\nbar"
  T.eq(X.normalize(r, { post = false }), "foo\nbar")
  T.eq(X.normalize(r), "foo")
  T.eq(X.get_normalized_prediction(r, false), "foo\nbar")
end)

T.test("a user's extractor function", function()
  local function last_word(resp) return resp:match("(%S+)%s*$") end
  T.eq({ X.score("I think it is Paris", "A", { kind = "choice", input = MMLU_Q, extract = last_word }) }, { true, "Paris" })
  T.eq({ X.score("", "A", { extract = function() return nil end }) }, { false, nil })
  -- numbers returned by the extractor are compared as Python's str()
  T.eq({ X.score("x", "42", { kind = "number", extract = function() return 42 end }) }, { true, "42" })
  local list, n = X.score_all({ "a 1", "b 2" }, { "1", "3" }, { kind = "number", extract = last_word })
  T.eq(list, { true, false })
  T.eq(n, 1)
end)

T.test("a user's pattern: the capture of the last match, normalized for the kind", function()
  local opts = { kind = "number", pattern = "ANSWER:\\s*(\\S+)" }
  T.eq({ X.score("ANSWER: 3\nwait, no. ANSWER: $1,200.", "1200", opts) }, { true, "1200" })
  T.eq({ X.score("ANSWER: 3\nANSWER: 5", "3", { kind = "number", pattern = "ANSWER:\\s*(\\S+)", match = "first" }) },
    { true, "3" })
  T.eq({ X.score("no marker here 5", "5", opts) }, { false, nil })
  T.eq({ X.score("Final: Yes!", "Yes", { kind = "boolean", pattern = "final: (\\w+)", flags = "i", normalize = false }) },
    { true, "Yes" })
  -- a pattern without a capture gives the whole match
  T.eq(X.normalize("it is 12 or 13", { kind = "number", pattern = "\\d+" }), "13")
  -- a bad pattern raises, naming it
  T.raises(function() X.score("x", "1", { pattern = "(" }) end, "bad pattern '('")
end)

T.test("a pattern that hits the match limit scores false with the regex_limit code", function()
  local ok, pred, err, code = X.score(string.rep("a", 30) .. "b", "x", { pattern = "(a+)+$" })
  T.eq(ok, false)
  T.eq(pred, nil)
  T.eq(code, "regex_limit")
  T.contains(err, "limit")
end)

T.test("misuse raises clear errors", function()
  T.raises(function() X.score(nil, "1") end, "bad argument #1 to 'opro.extract.score'")
  T.raises(function() X.score("x", {}) end, "the target must be a string or a number")
  T.raises(function() X.score("x", "1", { kind = "numbr" }) end, 'unknown kind "numbr"')
  T.raises(function() X.score("x", "1", { boxed = "yes" }) end, "boxed")
  T.raises(function() X.score("x", "1", { extract = "f" }) end, "'extract' must be a function")
  T.raises(function() X.score_all({ "a" }, { "a", "b" }) end, "1 responses but 2 targets")
  T.raises(function() X.score_all({ 1 }, { "a" }) end, "responses[1] is a number")
  T.raises(function() X.score("x", "A", { kind = "choice", input = 5 }) end, "'input' must be a string")
end)

-- score and normalize read a plain options table in C (the common case)
-- and leave everything else to the Lua code; an options table behind a
-- metatable always takes the Lua path, so both must agree on every option.
T.test("the fast option path agrees with the Lua one", function()
  local rnd = math.random
  math.randomseed(7)
  local RESP = { "The answer is 42.", "So 3 + 4 = 7. Therefore, (B) is the correct answer.", "#### 1,000",
    "\\boxed{12} The answer is 5", "Answer: yes.\nQ: next", "The answer is seventeen apples.", "", "It is 0.125 kg",
    "answer: (A) west", "True", "The answer is $2.50." }
  local TARGETS = { "42", "7", "(B)", "B", "1000", "12", "5", "yes", "17", "", "0.12", "A", "west", "true", "2.5" }
  local VALUES = {
    kind = { "text", "number", "boolean", "choice", "adaptive" },
    include_ok = { true, false, 0 },
    decimals = { 0, 1, 2 },
    boxed = { true, false, "normalize" },
    post = { true, false, 0 },
    number = { true, false },
    boolean = { true, false },
    input = { SUN, "(A) 7 (B) 42" },
    target = { "42", 42 },
    other = { 1 },
  }
  local keys = {}
  for k in pairs(VALUES) do keys[#keys + 1] = k end
  table.sort(keys)
  local n = 0
  for _ = 1, 3000 do
    local opts = {}
    for _, k in ipairs(keys) do
      if rnd(3) == 1 then opts[k] = VALUES[k][rnd(#VALUES[k])] end
    end
    if opts.kind == "adaptive" and opts.target == nil then opts.target = "7" end
    local proxy = setmetatable({}, { __index = opts })
    local r, t = RESP[rnd(#RESP)], TARGETS[rnd(#TARGETS)]
    local ok1, p1 = X.score(r, t, opts)
    local ok2, p2 = X.score(r, t, proxy)
    T.eq({ ok1, p1 }, { ok2, p2 }, r .. " / " .. t)
    T.eq(X.normalize(r, opts), X.normalize(r, proxy), r)
    n = n + 1
  end
  T.eq(n, 3000)
  -- nil options and the errors the Lua path reports
  T.eq({ X.score("The answer is 7.", "7") }, { X.score("The answer is 7.", "7", setmetatable({}, {})) })
  T.raises(function() X.score("x", "1", { kind = "numbers" }) end, "unknown kind")
  T.raises(function() X.score("x", "1", { decimals = 1.5 }) end, "option 'decimals'")
  T.raises(function() X.score("x", "1", { boxed = "yes" }) end, "option 'boxed'")
  T.raises(function() X.score("x", "1", { kind = "choice", input = 5 }) end, "option 'input'")
  T.raises(function() X.normalize("x", { kind = "number", target = {} }) end, "opts.target")
  T.raises(function() X.normalize(5, { kind = "number" }) end, "string expected")
end)

-- The reference's per-dataset settings (optimize_instructions.py,
-- evaluate_instructions.py), which the dataset loaders use as defaults.
T.test("dataset_defaults: GSM8K, MultiArith, AQuA, MMLU, MATH", function()
  local D = X.dataset_defaults
  T.eq(D.gsm8k.kind, "number")
  T.eq(D.multiarith.kind, "number")
  T.eq(D.aqua.kind, "choice")
  T.eq(D.mmlu.kind, "choice")
  T.eq(D.math.kind, "adaptive")
  T.eq(D.gsm8k.reference, { prediction_treat_as_number = true, prediction_treat_as_bool = false,
    is_multiple_choice = false, treat_include_as_correct = false })
  T.eq(D.mmlu.reference.is_multiple_choice, true)
  T.eq(X.defaults("gsm8k"), { kind = "number" })
  T.raises(function() X.defaults("imagenet") end, 'unknown dataset "imagenet"')
end)

T.test("dataset_defaults: all 27 BBH tasks", function()
  local want = {
    boolean_expressions = "boolean", causal_judgement = "boolean", formal_fallacies = "boolean",
    navigate = "boolean", sports_understanding = "boolean", web_of_lies = "boolean",
    object_counting = "number", multistep_arithmetic_two = "number",
    dyck_languages = "text", word_sorting = "text",
  }
  for _, t in ipairs({ "date_understanding", "disambiguation_qa", "geometric_shapes", "hyperbaton",
    "logical_deduction_five_objects", "logical_deduction_seven_objects", "logical_deduction_three_objects",
    "movie_recommendation", "penguins_in_a_table", "reasoning_about_colored_objects", "ruin_names",
    "salient_translation_error_detection", "snarks", "temporal_sequences",
    "tracking_shuffled_objects_five_objects", "tracking_shuffled_objects_seven_objects",
    "tracking_shuffled_objects_three_objects" }) do
    want[t] = "choice"
  end
  local n = 0
  for task, kind in pairs(want) do
    n = n + 1
    T.eq(X.dataset_defaults[task].kind, kind, task)
    T.eq(X.defaults("bbh", task).kind, kind, task)
  end
  T.eq(n, 27)
  T.eq(#X.bbh_tasks, 27)
  T.eq(X.defaults("bbh", "some_new_task").kind, "text")
end)

T.test("Python str helpers", function()
  T.eq(X.lower("ΟΔΟΣ ΣΑΣ"), "οδος σας") -- final sigma
  T.eq(X.lower("İ"), "i\u{307}")
  T.eq(X.upper("straße"), "STRASSE")
  T.eq(X.strip("\u{3000} x \u{a0}\n"), "x")
  T.eq(X.tofloat(" \u{661}\u{668} "), 18.0)
  T.eq(X.tofloat("1_0"), 10.0)
  T.eq(X.tofloat("_1"), nil)
  T.eq(X.tofloat("0x10"), nil)
  T.eq(X.tofloat("\28" .. "5"), nil) -- float() does not strip \x1c
end)

T.done()
