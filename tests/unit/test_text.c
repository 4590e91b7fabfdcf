/*  Client text: validity, field checks, folding, emails and label lists.  */
#include "node/error.h"
#include "node/text.h"
#include "tests/testlib.h"

#define WHY 256

/*  fl_text_valid on a NUL-terminated literal.  */
static bool
valid(const char *s)
{
    return fl_text_valid(s, strlen(s));
}

/*  The folded form of IN, or "(error N)".  */
static const char *
fold(const char *in)
{
    static char out[512];
    int rc = fl_text_fold(in, out, sizeof out);
    if (rc)
        snprintf(out, sizeof out, "(error %d)", rc);
    return out;
}

/*  The stored form of an accepted address, or the message of a refused one.  */
static const char *
email(const char *in)
{
    static char out[FL_TEXT_EMAIL_MAX + 1], why[WHY];
    int rc = fl_text_email("email", in, out, why, sizeof why);
    if (rc == 0)
        return out;
    FL_CHECK_INT(rc, ==, FL_E_INVAL);
    return why;
}

/*  The message for a refused list, or "ok".  */
static const char *
list_why(const char *field, char *const *items, size_t n, size_t max_items, size_t max_chars)
{
    static char why[WHY];
    fl_text_list_t out;
    int rc = fl_text_list(field, items, n, max_items, max_chars, &out, why, sizeof why);
    if (rc == 0) {
        fl_text_list_release(&out);
        return "ok";
    }
    FL_CHECK_INT(rc, ==, FL_E_INVAL);
    FL_CHECK_INT(out.n, ==, 0);
    FL_CHECK(out.items == NULL);
    return why;
}

FL_TEST(valid_accepts_plain_and_multibyte_text)
{
    FL_CHECK(valid(""));
    FL_CHECK(valid("hello, world"));
    FL_CHECK(valid("h\u00e9llo \u65e5\u672c \U0001f3b7"));
    FL_CHECK(valid("\u00a0"));              /* U+00A0, just past C1 */
    FL_CHECK(valid("~"));                   /* U+007E, just before DEL */
    FL_CHECK(valid(" "));                   /* U+0020, just past C0 */
}

FL_TEST(valid_rejects_overlong_encodings)
{
    FL_CHECK(!valid("\xc0\xaf"));
    FL_CHECK(!valid("\xe0\x80\xaf"));
    FL_CHECK(!valid("\xf0\x80\x80\xaf"));
    FL_CHECK(!valid("\xc1\xbf"));
}

FL_TEST(valid_rejects_surrogates)
{
    FL_CHECK(!valid("\xed\xa0\x80"));
    FL_CHECK(!valid("\xed\xbf\xbf"));
    FL_CHECK(!valid("a\xed\xa0\x80\xed\xb0\x80"));
}

FL_TEST(valid_rejects_truncated_sequences)
{
    FL_CHECK(!valid("\xe2\x82"));
    FL_CHECK(!valid("abc\xf0\x9f\x8e"));
    FL_CHECK(!valid("\x82"));
    FL_CHECK(!fl_text_valid("\xe2\x82\xac", 2));
}

FL_TEST(valid_rejects_code_points_past_unicode)
{
    FL_CHECK(!valid("\xf4\x90\x80\x80"));
    FL_CHECK(!valid("\xf8\x88\x80\x80\x80"));
}

FL_TEST(valid_rejects_nul_inside)
{
    FL_CHECK(!fl_text_valid("a\0b", 3));
    FL_CHECK(!fl_text_valid("\0", 1));
    FL_CHECK(fl_text_valid("a\0b", 1));
}

FL_TEST(valid_rejects_c0_controls)
{
    FL_CHECK(!valid("a\tb"));
    FL_CHECK(!valid("a\nb"));
    FL_CHECK(!valid("a\rb"));
    FL_CHECK(!valid("\x01"));
    FL_CHECK(!valid("\x1b[31m"));
    FL_CHECK(!valid("\x1f"));
}

FL_TEST(valid_rejects_del)
{
    FL_CHECK(!valid("\x7f"));
    FL_CHECK(!valid("abc\x7f"));
}

FL_TEST(valid_rejects_c1_controls)
{
    FL_CHECK(!valid("\xc2\x85"));
    FL_CHECK(!valid("\xc2\x80"));
    FL_CHECK(!valid("a\xc2\x9f"));
}

FL_TEST(check_accepts_text_within_limit)
{
    char why[WHY] = "";
    FL_CHECK_INT(fl_text_check("bio", "I like jazz.", 12, true, false, why, sizeof why), ==, 0);
    FL_CHECK_STR(why, "");
}

FL_TEST(check_counts_code_points_not_bytes)
{
    char why[WHY];
    const char *s = "\u65e5\u672c\u8a9e";      /* three code points, nine bytes */
    FL_CHECK_INT(fl_text_check("title", s, 3, false, false, why, sizeof why), ==, 0);
    FL_CHECK_INT(fl_text_check("title", s, 2, false, false, why, sizeof why), ==, FL_E_INVAL);
    FL_CHECK_STR(why, "title: longer than 2 characters");
}

FL_TEST(check_names_field_for_invalid_utf8)
{
    char why[WHY];
    FL_CHECK_INT(fl_text_check("bio", "caf\xc3", 100, false, true, why, sizeof why), ==,
                 FL_E_INVAL);
    FL_CHECK_STR(why, "bio: not valid UTF-8");
    FL_CHECK_INT(fl_text_check("bio", "\xed\xa0\x80", 100, false, true, why, sizeof why), ==,
                 FL_E_INVAL);
    FL_CHECK_STR(why, "bio: not valid UTF-8");
}

FL_TEST(check_names_field_for_control_character)
{
    char why[WHY];
    FL_CHECK_INT(fl_text_check("bio", "a\x7f", 100, false, true, why, sizeof why), ==,
                 FL_E_INVAL);
    FL_CHECK_STR(why, "bio: contains a control character");
    FL_CHECK_INT(fl_text_check("bio", "a\xc2\x85", 100, false, true, why, sizeof why), ==,
                 FL_E_INVAL);
    FL_CHECK_STR(why, "bio: contains a control character");
}

FL_TEST(check_allows_newline_only_when_multiline)
{
    char why[WHY];
    FL_CHECK_INT(fl_text_check("bio", "one\ntwo\n", 100, false, true, why, sizeof why), ==, 0);
    FL_CHECK_INT(fl_text_check("name", "one\ntwo", 100, false, false, why, sizeof why), ==,
                 FL_E_INVAL);
    FL_CHECK_STR(why, "name: must be a single line");
}

FL_TEST(check_refuses_other_controls_when_multiline)
{
    char why[WHY];
    FL_CHECK_INT(fl_text_check("bio", "one\r\ntwo", 100, false, true, why, sizeof why), ==,
                 FL_E_INVAL);
    FL_CHECK_STR(why, "bio: contains a control character");
    FL_CHECK_INT(fl_text_check("bio", "a\tb", 100, false, true, why, sizeof why), ==,
                 FL_E_INVAL);
    FL_CHECK_STR(why, "bio: contains a control character");
}

FL_TEST(check_counts_newlines_as_characters)
{
    char why[WHY];
    FL_CHECK_INT(fl_text_check("bio", "a\nb", 3, false, true, why, sizeof why), ==, 0);
    FL_CHECK_INT(fl_text_check("bio", "a\n\nb", 3, false, true, why, sizeof why), ==,
                 FL_E_INVAL);
    FL_CHECK_STR(why, "bio: longer than 3 characters");
}

FL_TEST(check_required_refuses_empty_and_blank)
{
    char why[WHY];
    FL_CHECK_INT(fl_text_check("name", "", 40, true, false, why, sizeof why), ==, FL_E_INVAL);
    FL_CHECK_STR(why, "name: must not be empty");
    FL_CHECK_INT(fl_text_check("name", "  \u3000", 40, true, false, why, sizeof why), ==,
                 FL_E_INVAL);
    FL_CHECK_STR(why, "name: must not be empty");
    FL_CHECK_INT(fl_text_check("bio", "\n \n", 40, true, true, why, sizeof why), ==, FL_E_INVAL);
    FL_CHECK_STR(why, "bio: must not be empty");
}

FL_TEST(check_optional_allows_empty)
{
    char why[WHY];
    FL_CHECK_INT(fl_text_check("bio", "", 40, false, true, why, sizeof why), ==, 0);
    FL_CHECK_INT(fl_text_check("bio", "   ", 40, false, true, why, sizeof why), ==, 0);
}

FL_TEST(check_truncates_message_to_why_length)
{
    char why[8];
    FL_CHECK_INT(fl_text_check("biography", "\x7f", 40, false, false, why, sizeof why), ==,
                 FL_E_INVAL);
    FL_CHECK_STR(why, "biograp");
    FL_CHECK_INT(fl_text_check("bio", "\x7f", 40, false, false, NULL, 0), ==, FL_E_INVAL);
}

FL_TEST(fold_trims_and_collapses_white_space)
{
    FL_CHECK_STR(fold("  Jazz   Music "), "jazz music");
    FL_CHECK_STR(fold("jazz"), "jazz");
    FL_CHECK_STR(fold(" a b "), "a b");
}

FL_TEST(fold_treats_unicode_white_space_as_white_space)
{
    /* U+3000 ideographic space, U+00A0 no-break, U+2003 em space, U+2028 line separator */
    FL_CHECK_STR(fold("\u3000Jazz\u00a0\u2003Music\u2028"), "jazz music");
}

FL_TEST(fold_case_folds_sharp_s)
{
    FL_CHECK_STR(fold("Stra\u00dfe"), "strasse");
    FL_CHECK_STR(fold("STRASSE"), "strasse");
}

FL_TEST(fold_applies_nfkc)
{
    FL_CHECK_STR(fold("\uff21\uff22\uff23"), "abc");       /* fullwidth */
    FL_CHECK_STR(fold("\ufb01sh"), "fish");               /* ligature */
    FL_CHECK_STR(fold("Caf\u00e9"), "caf\u00e9");
    FL_CHECK_STR(fold("Cafe\u0301"), "caf\u00e9");  /* composed */
    FL_CHECK_STR(fold("\u00c9L\u00c9VE"), "\u00e9l\u00e9ve");
}

FL_TEST(fold_collapses_space_that_nfkc_introduces)
{
    /* U+00A8 DIAERESIS is U+0020 U+0308 under NFKC */
    FL_CHECK_STR(fold("x \u00a8"), "x \u0308");
    FL_CHECK_STR(fold("\u00a8x"), "\u0308x");
}

FL_TEST(fold_is_idempotent)
{
    const char *samples[] = { "  Jazz   Music ", "Stra\u00dfe", "x \u00a8 \u00a8",
                              "\uff21\u3000\uff22", "\u0130stanbul" };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char once[256], twice[256];
        FL_CHECK_INT(fl_text_fold(samples[i], once, sizeof once), ==, 0);
        FL_CHECK_INT(fl_text_fold(once, twice, sizeof twice), ==, 0);
        FL_CHECK_STR(twice, once);
    }
}

FL_TEST(fold_of_blank_is_empty)
{
    FL_CHECK_STR(fold(""), "");
    FL_CHECK_STR(fold("   "), "");
    FL_CHECK_STR(fold("\u3000\u00a0"), "");
}

FL_TEST(fold_rejects_invalid_utf8)
{
    char out[32] = "x";
    FL_CHECK_INT(fl_text_fold("\xc0\xaf", out, sizeof out), ==, FL_E_INVAL);
    FL_CHECK_STR(out, "");
    FL_CHECK_INT(fl_text_fold("\xed\xa0\x80", out, sizeof out), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_text_fold("ab\xe2\x82", out, sizeof out), ==, FL_E_INVAL);
}

FL_TEST(fold_rejects_control_characters)
{
    char out[32];
    FL_CHECK_INT(fl_text_fold("a\tb", out, sizeof out), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_text_fold("a\nb", out, sizeof out), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_text_fold("a\x7f", out, sizeof out), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_text_fold("a\xc2\x85", out, sizeof out), ==, FL_E_INVAL);
}

FL_TEST(fold_reports_output_that_does_not_fit)
{
    char out[5];
    FL_CHECK_INT(fl_text_fold("ABCD", out, 5), ==, 0);
    FL_CHECK_STR(out, "abcd");
    FL_CHECK_INT(fl_text_fold("ABCDE", out, 5), ==, FL_E_TOOBIG);
    FL_CHECK_INT(fl_text_fold("  ABCD  ", out, 5), ==, 0);
}

FL_TEST(fold_reports_output_that_grows_past_capacity)
{
    char out[16];
    /* U+3300 SQUARE APAATO, 3 bytes, is four katakana (12 bytes) under NFKC */
    FL_CHECK_INT(fl_text_fold("\u3300", out, 13), ==, 0);
    FL_CHECK_STR(out, "\u30a2\u30d1\u30fc\u30c8");
    FL_CHECK_INT(fl_text_fold("\u3300", out, 12), ==, FL_E_TOOBIG);
}

FL_TEST(email_folds_to_lower_case)
{
    FL_CHECK_STR(email("Ann@Example.COM"), "ann@example.com");
    FL_CHECK_STR(email("ann@example.com"), "ann@example.com");
}

FL_TEST(email_accepts_ordinary_addresses)
{
    FL_CHECK_STR(email("  bob@mail.example.org  "), "bob@mail.example.org");
    FL_CHECK_STR(email("a.b+tag@x.io"), "a.b+tag@x.io");
    FL_CHECK_STR(email("o'neil_99@sub-domain.example.co.uk"), "o'neil_99@sub-domain.example.co.uk");
    FL_CHECK_STR(email("J\u00f6rg@B\u00fccher.de"), "j\u00f6rg@b\u00fccher.de");
}

FL_TEST(email_checks_the_folded_form)
{
    /* a fullwidth at sign and dot fold to ASCII */
    FL_CHECK_STR(email("ann\uff20example\uff0ecom"), "ann@example.com");
}

FL_TEST(email_refuses_wrong_number_of_at_signs)
{
    FL_CHECK_STR(email("annexample.com"), "email: must contain one @");
    FL_CHECK_STR(email("ann@bob@example.com"), "email: must contain one @");
}

FL_TEST(email_refuses_empty_and_blank)
{
    FL_CHECK_STR(email(""), "email: must not be empty");
    FL_CHECK_STR(email("  \u3000 "), "email: must not be empty");
}

FL_TEST(email_refuses_bad_local_part)
{
    char in[128];
    FL_CHECK_STR(email("@example.com"), "email: must have 1 to 64 bytes before @");
    memset(in, 'a', 65);
    snprintf(in + 65, sizeof in - 65, "@example.com");
    FL_CHECK_STR(email(in), "email: must have 1 to 64 bytes before @");
    snprintf(in + 64, sizeof in - 64, "@example.com");
    FL_CHECK_STR(email(in), in);
}

FL_TEST(email_refuses_bad_domain)
{
    FL_CHECK_STR(email("ann@"), "email: domain must contain a dot");
    FL_CHECK_STR(email("ann@localhost"), "email: domain must contain a dot");
    FL_CHECK_STR(email("ann@.example.com"), "email: domain has an empty label");
    FL_CHECK_STR(email("ann@example..com"), "email: domain has an empty label");
    FL_CHECK_STR(email("ann@example.com."), "email: domain has an empty label");
    FL_CHECK_STR(email("ann@."), "email: domain has an empty label");
}

FL_TEST(email_refuses_white_space_inside)
{
    FL_CHECK_STR(email("an n@example.com"), "email: must not contain white space");
    FL_CHECK_STR(email("ann@exa mple.com"), "email: must not contain white space");
    FL_CHECK_STR(email("ann\u00a0@example.com"), "email: must not contain white space");
}

FL_TEST(email_refuses_invalid_text)
{
    FL_CHECK_STR(email("ann\t@example.com"), "email: contains a control character");
    FL_CHECK_STR(email("ann@example.com\n"), "email: must be a single line");
    FL_CHECK_STR(email("\xc0\xaf@example.com"), "email: not valid UTF-8");
    FL_CHECK_STR(email("ann@ex\xed\xa0\x80.com"), "email: not valid UTF-8");
}

FL_TEST(email_limits_total_length_to_254_bytes)
{
    char in[300];
    /* 64 + 1 + 189 = 254: "aaa...@" then "b...b.com" */
    memset(in, 'a', 64);
    in[64] = '@';
    memset(in + 65, 'b', 185);
    snprintf(in + 250, sizeof in - 250, ".com");
    FL_CHECK_INT(strlen(in), ==, 254);
    FL_CHECK_STR(email(in), in);
    memset(in + 65, 'b', 186);
    snprintf(in + 251, sizeof in - 251, ".com");
    FL_CHECK_STR(email(in), "email: longer than 254 bytes");
}

FL_TEST(email_limits_length_after_folding)
{
    char in[300];
    /* 71 bytes, 260 once each U+3300 (3 bytes) becomes four katakana (12) */
    snprintf(in, sizeof in, "ann@");
    for (int i = 0; i < 21; i++)
        strcat(in, "\u3300");
    strcat(in, ".com");
    FL_CHECK_INT(strlen(in), ==, 71);
    FL_CHECK_STR(email(in), "email: longer than 254 bytes");
}

FL_TEST(email_names_the_field)
{
    char out[FL_TEXT_EMAIL_MAX + 1], why[WHY];
    FL_CHECK_INT(fl_text_email("contact_email", "nope", out, why, sizeof why), ==, FL_E_INVAL);
    FL_CHECK_STR(why, "contact_email: must contain one @");
    FL_CHECK_STR(out, "");
}

FL_TEST(list_folds_items_in_input_order)
{
    char *items[] = { "Rock", "  Jazz   Music ", "Stra\u00dfe" };
    char why[WHY];
    fl_text_list_t out;
    FL_CHECK_INT(fl_text_list("interests", items, 3, 10, 40, &out, why, sizeof why), ==, 0);
    FL_CHECK_INT(out.n, ==, 3);
    FL_CHECK_STR(out.items[0], "rock");
    FL_CHECK_STR(out.items[1], "jazz music");
    FL_CHECK_STR(out.items[2], "strasse");
    fl_text_list_release(&out);
}

FL_TEST(list_drops_empty_and_blank_items)
{
    char *items[] = { "", "  ", "Jazz", "\u3000" };
    char why[WHY];
    fl_text_list_t out;
    FL_CHECK_INT(fl_text_list("tags", items, 4, 1, 40, &out, why, sizeof why), ==, 0);
    FL_CHECK_INT(out.n, ==, 1);
    FL_CHECK_STR(out.items[0], "jazz");
    fl_text_list_release(&out);
}

FL_TEST(list_drops_duplicates_after_folding_keeping_first)
{
    char *items[] = { "Jazz", "Rock", "JAZZ", " jazz ", "\uff2a\uff21\uff3a\uff3a",
                      "ROCK" };
    char why[WHY];
    fl_text_list_t out;
    FL_CHECK_INT(fl_text_list("tags", items, 6, 10, 40, &out, why, sizeof why), ==, 0);
    FL_CHECK_INT(out.n, ==, 2);
    FL_CHECK_STR(out.items[0], "jazz");
    FL_CHECK_STR(out.items[1], "rock");
    fl_text_list_release(&out);
}

FL_TEST(list_max_items_counts_distinct_items)
{
    char *dupes[] = { "a", "A", "b", " B ", "", "a" };
    char *three[] = { "a", "b", "c" };
    FL_CHECK_STR(list_why("tags", dupes, 6, 2, 40), "ok");
    FL_CHECK_STR(list_why("tags", three, 3, 3, 40), "ok");
    FL_CHECK_STR(list_why("tags", three, 3, 2, 40), "tags: more than 2 items");
    FL_CHECK_STR(list_why("tags", three, 3, 0, 40), "tags: more than 0 items");
}

FL_TEST(list_limits_characters_after_folding)
{
    char *fits[] = { "ABC", "  abc  ", "\u65e5\u672c\u8a9e", "\uff21\uff22" };
    char *long_item[] = { "ok", "abcd" };
    char *grows[] = { "ok", "\u3300" };    /* U+3300: one code point, four folded */
    FL_CHECK_STR(list_why("traits", fits, 4, 10, 3), "ok");
    FL_CHECK_STR(list_why("traits", long_item, 2, 10, 3), "traits[1]: longer than 3 characters");
    FL_CHECK_STR(list_why("traits", grows, 2, 10, 3), "traits[1]: longer than 3 characters");
}

FL_TEST(list_names_index_of_invalid_item)
{
    char *bad_utf8[] = { "ok", "\xed\xa0\x80" };
    char *control[] = { "ok", "fine", "a\tb" };
    char *newline[] = { "a\nb" };
    char *c1[] = { "x", "y", "z", "\xc2\x85" };
    FL_CHECK_STR(list_why("interests", bad_utf8, 2, 10, 40), "interests[1]: not valid UTF-8");
    FL_CHECK_STR(list_why("interests", control, 3, 10, 40),
                 "interests[2]: contains a control character");
    FL_CHECK_STR(list_why("interests", newline, 1, 10, 40), "interests[0]: must be a single line");
    FL_CHECK_STR(list_why("traits", c1, 4, 10, 40), "traits[3]: contains a control character");
}

FL_TEST(list_checks_items_past_duplicates_and_empties)
{
    char *items[] = { "a", "", "A", "\x7f" };
    FL_CHECK_STR(list_why("tags", items, 4, 10, 40), "tags[3]: contains a control character");
}

FL_TEST(list_of_no_items_is_empty)
{
    char why[WHY];
    fl_text_list_t out = { 7, NULL };
    FL_CHECK_INT(fl_text_list("tags", NULL, 0, 10, 40, &out, why, sizeof why), ==, 0);
    FL_CHECK_INT(out.n, ==, 0);
    FL_CHECK(out.items == NULL);
    fl_text_list_release(&out);
}

FL_TEST(list_release_empties_the_list_and_tolerates_null)
{
    char *items[] = { "a", "b" };
    char why[WHY];
    fl_text_list_t out;
    FL_CHECK_INT(fl_text_list("tags", items, 2, 10, 40, &out, why, sizeof why), ==, 0);
    fl_text_list_release(&out);
    FL_CHECK_INT(out.n, ==, 0);
    FL_CHECK(out.items == NULL);
    fl_text_list_release(&out);
    fl_text_list_release(NULL);
}
