/* extract.h: answer extraction and scoring as the OPRO reference code does
 * it (google-deepmind/opro, opro/evaluation/metrics.py
 * get_normalized_prediction and eval_utils.py _get_accuracy), in C, no Lua.
 *
 * Strings are UTF-8 byte ranges (not NUL-terminated). The reference works
 * on Python str; every rule here follows Python's semantics (str.lower with
 * the Final_Sigma rule, str.strip, str.isalpha, float(), re's \d) using the
 * Unicode tables in src/unitab.h. Bytes that are not valid UTF-8 are kept
 * as they are and count as non-letter, non-space, non-digit characters.
 *
 * Functions returning int return -1 when memory runs out. */
#ifndef OPRO_EXTRACT_H
#define OPRO_EXTRACT_H
#include <stddef.h>

/* A growable byte buffer; zero-initialize, free with ex_buf_free. */
typedef struct {
  char *p;
  size_t n, cap;
} ex_buf;
void ex_buf_free(ex_buf *b);

/* get_normalized_prediction's flags */
typedef struct {
  int as_number;    /* treat_as_number (prediction_treat_as_number) */
  int as_bool;      /* treat_as_bool (prediction_treat_as_bool) */
  int num_decimals; /* num_decimals, >= 0 (prediction_num_decimals) */
} ex_norm_opts;

/* get_normalized_prediction(s): the normalized prediction into out. */
int ex_normalize(const char *s, size_t n, const ex_norm_opts *o, ex_buf *out);

/* evaluate_single_instruction's _extract_second_round_answer_for_parsing:
 * s.strip(":").strip().split("\n")[0].split("Q:")[0] */
int ex_post(const char *s, size_t n, ex_buf *out);

/* \boxed{...}. balanced == 0: the reference's rule for GPT scorers
 * (is_gpt_model): re.findall(r"\\boxed{(.*?)}", s)[0], the first match, up
 * to the first "}" on its line. balanced != 0: the content of the LAST
 * \boxed{...} with nested braces balanced ("\boxed{\frac{1}{2}}" gives
 * "\frac{1}{2}"). Returns 0 when s has no "\boxed", 1 with the content in
 * [*off, *off + *len), and -2 when s has "\boxed" but no match (the
 * reference raises IndexError there). */
int ex_boxed(const char *s, size_t n, int balanced, size_t *off, size_t *len);

/* _get_accuracy(target, pred, input, include_ok): 1 correct, 0 wrong.
 * input (may be empty) is the multiple-choice question text with its
 * "(A) ... (B) ..." options. Where the reference raises (an answer letter
 * beyond the options) the answer counts as wrong. */
int ex_accuracy(const char *target, size_t tn, const char *pred, size_t pn,
                const char *input, size_t in, int include_ok);

/* The whole scoring path of evaluate_single_instruction for one response. */
enum { EX_BOXED_OFF = 0, EX_BOXED_REFERENCE = 1, EX_BOXED_NORMALIZE = 2 };
typedef struct {
  ex_norm_opts norm;
  int boxed;      /* EX_BOXED_*: is_gpt_model (1) or boxed content normalized too (2) */
  int post;       /* apply ex_post to the prediction (the reference always does) */
  int include_ok; /* treat_include_as_correct */
} ex_score_opts;

/* normalize (or \boxed) -> post -> accuracy. The prediction goes to pred.
 * input: the question text for multiple choice, else empty. */
int ex_score(const char *resp, size_t rn, const char *target, size_t tn,
             const char *input, size_t in, const ex_score_opts *o, ex_buf *pred);

/* Python-compatible helpers (also used by the Lua binding) */
int ex_lower(const char *s, size_t n, ex_buf *out);             /* str.lower() */
int ex_upper(const char *s, size_t n, ex_buf *out);             /* str.upper() */
void ex_strip(const char **s, size_t *n);                       /* str.strip() */
int ex_is_float(const char *s, size_t n, double *v);           /* float(s) succeeds */
int ex_is_numeric(const char *s, size_t n);                    /* str.isnumeric() */
int ex_is_alpha(const char *s, size_t n);                      /* str.isalpha() */
/* eval_utils.remove_punctuation_from_string(s, is_filename) */
int ex_remove_punct(const char *s, size_t n, int is_filename, ex_buf *out);
/* eval_utils._get_answer_text(input, letter_index) lower-cased; 0, or 1
 * when the index is beyond the options (IndexError in the reference) */
int ex_answer_text(const char *input, size_t in, int index, ex_buf *out);
/* Number of code points (Python len) */
size_t ex_len(const char *s, size_t n);

#endif
