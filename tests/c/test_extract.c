/* Unit tests of the extractor's C API (src/extract.h) and the PCRE2
 * wrapper (src/regex.h). Expected values are the reference code's
 * (google-deepmind/opro metrics.py / eval_utils.py) for the same inputs. */
#include <stdio.h>
#include <string.h>

#include "extract.h"
#include "regex.h"
#include "tap.h"

static ex_buf out;

static const char *norm(const char *s, int number, int boolean, int decimals) {
  ex_norm_opts o = {number, boolean, decimals};
  if (ex_normalize(s, strlen(s), &o, &out)) return "<oom>";
  return out.p;
}

#define NORM(s, num, bo, want) \
  TAP_OK(strcmp(norm(s, num, bo, 0), want) == 0, "normalize(%s) = %s (got %s)", #s, want, out.p)

static int acc(const char *t, const char *p, const char *in, int inc) {
  return ex_accuracy(t, strlen(t), p, strlen(p), in, strlen(in), inc);
}

static void test_normalize(void) {
  NORM("The answer is 72.", 1, 0, "72");
  NORM("#### 10", 1, 0, "10");
  NORM("The answer is 5.\n\nQ: Julie has 99 pages. The answer is 42.", 1, 0, "5");
  NORM("The answer is $130,000.", 1, 0, "130000");
  NORM("The answer is 5 * 8 + 2 = 42", 1, 0, "42");
  NORM("The answer is eight.", 1, 0, "8");
  NORM("The answer is seventeen.", 1, 0, "7");          /* "seven" replaced first */
  NORM("The answer is none of them, it is 6", 1, 0, "1"); /* "none" -> "n1" */
  NORM("The answer is 156kgs.", 1, 0, "156");
  NORM("He ran a total of 823-yard.", 1, 0, "823");
  NORM("The Answer is 42 because 6 times 7", 1, 0, "7"); /* case-sensitive marker check */
  NORM("He has 5  apples left", 1, 0, "");              /* empty token between two spaces */
  NORM("The answer is 2.5", 1, 0, "2");                 /* half to even */
  NORM("The answer is 3.5", 1, 0, "4");
  NORM("The answer is 12:30", 1, 0, "12");
  NORM("The answer is x3y4\nz9", 1, 0, "4");
  NORM("", 1, 0, "");
  NORM("", 0, 0, "");
  NORM("", 0, 1, "");
  NORM("The answer is (B) east.", 0, 0, "(b)");
  NORM("The answer is (about 150 m) (D)", 0, 0, "(about 150 m)");
  NORM("So the answer is apple banana dr. cherry", 0, 0, "apple banana dr");
  NORM("So the answer is False.", 0, 1, "false");
  NORM("The answer is 1", 0, 1, "true");
  NORM("The answer is not clear.", 0, 1, "not clear");
  NORM("The answer is \xce\x9f\xce\x94\xce\x9f\xce\xa3.", 0, 0, "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"); /* final sigma */
  NORM("\xd8\xa7\xd9\x84\xd8\xac\xd9\x88\xd8\xa7\xd8\xa8 \xd9\x87\xd9\x88 \xd9\xa1\xd9\xa8", 1, 0, "18");
  TAP_OK(strcmp(norm("The answer is 3.14159", 1, 0, 2), "3.14") == 0, "decimals=2 (got %s)", out.p);
  TAP_OK(strcmp(norm("The answer is 0.125", 1, 0, 2), "0.12") == 0, "decimals=2 half to even (got %s)", out.p);
}

static void test_accuracy(void) {
  const char *sun = "From which direction does the sun rise in the morning? (A) west (B) east (C) north (D) south";
  TAP_OK(acc("(A)", "a", "", 0) == 1, "letter without brackets");
  TAP_OK(acc("(A)", "(b)", "", 0) == 0, "wrong letter");
  TAP_OK(acc("(B)", "east", sun, 0) == 1, "option text");
  TAP_OK(acc("(B)", "west", sun, 0) == 0, "other option text");
  TAP_OK(acc("Yes", "true", "", 0) == 1, "boolean meaning");
  TAP_OK(acc("True", "yes", "", 0) == 0, "only the prediction maps to true/false");
  TAP_OK(acc("Invalid", "1", "", 0) == 0, "1 is true, not invalid");
  TAP_OK(acc("valid", "invalid", "", 1) == 1, "substring leniency: valid is in invalid");
  TAP_OK(acc("valid", "invalid", "", 0) == 0, "without the leniency");
  TAP_OK(acc("(E)", "e", sun, 1) == 0, "letter beyond the options (IndexError in the reference) is wrong");
  TAP_OK(acc("bc", "bc", sun, 1) == 0, "a target that is no letter fails for multiple choice");
  TAP_OK(acc("", "", "", 0) == 1, "empty equals empty");
}

static void test_helpers(void) {
  double v;
  TAP_OK(ex_is_float(" 1_000.5 ", 9, &v) == 1 && v == 1000.5, "float() with underscores and spaces");
  TAP_OK(ex_is_float("1__0", 4, &v) == 0, "double underscore rejected");
  TAP_OK(ex_is_float("infinity", 8, &v) == 1 && v > 1e308, "infinity");
  TAP_OK(ex_is_float("1e", 2, &v) == 0, "exponent without digits");
  TAP_OK(ex_is_float(".", 1, &v) == 0, "lone point");
  size_t off = 0, len = 0;
  const char *b = "x \\boxed{\\frac{1}{2}} y";
  TAP_OK(ex_boxed(b, strlen(b), 0, &off, &len) == 1 && len == 7 && memcmp(b + off, "\\frac{1", 7) == 0,
         "reference boxed rule stops at the first }");
  TAP_OK(ex_boxed(b, strlen(b), 1, &off, &len) == 1 && len == 11 && memcmp(b + off, "\\frac{1}{2}", 11) == 0,
         "balanced boxed");
  TAP_OK(ex_boxed("\\boxed 5", 8, 0, &off, &len) == -2, "\\boxed without braces");
  TAP_OK(ex_boxed("none", 4, 0, &off, &len) == 0, "no \\boxed");
  ex_buf t = {0};
  TAP_OK(ex_answer_text("(A) west (B) east", 17, 1, &t) == 0 && strcmp(t.p, "east") == 0, "answer text");
  TAP_OK(ex_answer_text("(A) west (B) east", 17, 2, &t) == 1, "answer text beyond the options");
  TAP_OK(ex_post(":: 42\nmore", 10, &t) == 0 && strcmp(t.p, "42") == 0, "post");
  char bang[200];
  memset(bang, '!', sizeof bang);
  TAP_OK(ex_remove_punct(bang, sizeof bang, 1, &t) == 0 && t.n == 200 * strlen("<EXCLAMATION>"),
         "filename punctuation grows the text (regression: heap overflow found by fuzzing)");
  ex_buf_free(&t);

  ex_score_opts so = {{1, 0, 0}, EX_BOXED_OFF, 1, 0};
  const char *r = "So 3 + 4 = 7. The answer is 7.\nQ: next";
  TAP_OK(ex_score(r, strlen(r), "7", 1, "", 0, &so, &out) == 1 && strcmp(out.p, "7") == 0, "score");
}

static void test_regex(void) {
  char err[256];
  size_t eo;
  rx *r = rx_compile("(?<n>\\d+)\\s*kg", 14, RX_CASELESS, NULL, err, sizeof err, &eo);
  TAP_OK(r != NULL, "compile");
  rx_match *m = rx_match_new(r);
  const char *s = "weighs 72 KG";
  TAP_OK(rx_exec(r, s, strlen(s), 0, 0, m, err, sizeof err) == RX_MATCH, "match");
  size_t off, len;
  TAP_OK(rx_group(m, 1, &off, &len) == 1 && off == 7 && len == 2, "group 1");
  int g;
  TAP_OK(rx_name(r, 0, &g) && strcmp(rx_name(r, 0, &g), "n") == 0 && g == 1, "named group");
  TAP_OK(rx_exec(r, "none", 4, 0, 0, m, err, sizeof err) == RX_NOMATCH, "no match");
  rx_match_free(m);
  rx_free(r);
  TAP_OK(rx_compile("(a", 2, 0, NULL, err, sizeof err, &eo) == NULL && eo == 2 && strstr(err, "offset 2"),
         "compile error with offset (%s)", err);
  rx_limits lim = {1000, 0, 0};
  r = rx_compile("(x+x+)+$", 8, 0, &lim, err, sizeof err, &eo);
  m = rx_match_new(r);
  char subj[64];
  memset(subj, 'x', 40);
  subj[40] = '!';
  TAP_OK(rx_exec(r, subj, 41, 0, 0, m, err, sizeof err) == RX_LIMIT, "match limit");
  rx_match_free(m);
  rx_free(r);
}

int main(void) {
  test_normalize();
  test_accuracy();
  test_helpers();
  test_regex();
  ex_buf_free(&out);
  return tap_done();
}
