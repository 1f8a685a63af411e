/* check_bencode.c: the bencode decoder's strictness, limits, raw spans, and encoder round trips. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "bencode.h"
#include "suites.h"

static struct be_node *
decode(const char *s, struct be_error *err)
{
	return be_decode((const uint8_t *)s, strlen(s), NULL, err);
}

static void
assert_invalid(const char *s, size_t offset, const char *msg_part)
{
	struct be_error err = { 0 };
	struct be_node *n = decode(s, &err);
	ck_assert_msg(n == NULL, "'%s' should be refused", s);
	ck_assert_msg(strstr(err.msg, msg_part) != NULL, "'%s': error '%s' lacks '%s'", s, err.msg,
	    msg_part);
	ck_assert_msg(err.offset == offset, "'%s': offset %zu, expected %zu", s, err.offset, offset);
}

START_TEST(test_integers)
{
	struct be_error err;
	struct be_node *n = decode("i42e", &err);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(n->type, BE_INT);
	ck_assert_int_eq(n->v.i, 42);
	be_free(n);
	n = decode("i-9223372036854775808e", &err);
	ck_assert_ptr_nonnull(n);
	ck_assert(n->v.i == INT64_MIN);
	be_free(n);
	n = decode("i0e", &err);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(n->v.i, 0);
	be_free(n);
	assert_invalid("i03e", 1, "leading zero");
	assert_invalid("i-0e", 1, "negative zero");
	assert_invalid("ie", 1, "expected a digit");
	assert_invalid("i12", 3, "end of input");
	assert_invalid("i9223372036854775808e", 1, "out of range");
	assert_invalid("i1x", 2, "expected 'e'");
}
END_TEST

START_TEST(test_strings)
{
	struct be_error err;
	struct be_node *n = decode("4:spam", &err);
	ck_assert_ptr_nonnull(n);
	ck_assert(be_str_eq(n, "spam"));
	be_free(n);
	n = decode("0:", &err);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->v.str.len, 0);
	be_free(n);
	assert_invalid("5:spam", 0, "past the end");
	assert_invalid("05:spams", 0, "leading zero");
	assert_invalid("99999999999999999999:", 0, "out of range");
	assert_invalid("4spam", 1, "expected ':'");
}
END_TEST

START_TEST(test_containers_and_spans)
{
	const char *doc = "d4:infod6:lengthi5e4:name1:xe3:numli1ei2eee";
	struct be_error err;
	struct be_node *n = decode(doc, &err);
	ck_assert_ptr_nonnull(n);
	struct be_node *info = be_dict_get_type(n, "info", BE_DICT);
	ck_assert_ptr_nonnull(info);
	ck_assert_uint_eq(info->offset, 7);
	ck_assert_uint_eq(info->raw_len, strlen("d6:lengthi5e4:name1:xe"));
	ck_assert(memcmp(info->raw, "d6:lengthi5e4:name1:xe", info->raw_len) == 0);
	struct be_node *num = be_dict_get_type(n, "num", BE_LIST);
	ck_assert_ptr_nonnull(num);
	ck_assert_uint_eq(num->v.list.n, 2);
	ck_assert_ptr_null(be_dict_get_type(n, "num", BE_DICT));
	be_free(n);
	assert_invalid("li1e", 4, "end of input in list");
	assert_invalid("di1ei2ee", 1, "key is not a string");
	assert_invalid("d1:ae", 4, "without a value");
	assert_invalid("i1ei2e", 3, "trailing data");
	assert_invalid("x", 0, "unexpected byte");
	assert_invalid("", 0, "empty input");
}
END_TEST

START_TEST(test_dict_order)
{
	struct be_error err;
	const char *unsorted = "d1:bi1e1:ai2ee";
	struct be_node *n = decode(unsorted, &err);
	ck_assert_ptr_nonnull(n);
	ck_assert(n->v.dict.unsorted);
	be_free(n);
	struct be_limits strict = be_default_limits;
	strict.require_sorted = true;
	n = be_decode((const uint8_t *)unsorted, strlen(unsorted), &strict, &err);
	ck_assert_ptr_null(n);
	ck_assert(strstr(err.msg, "sorted") != NULL);
	ck_assert_uint_eq(err.offset, 7);
	assert_invalid("d1:ai1e1:ai2ee", 7, "duplicate");
	assert_invalid("d1:bi1e1:ai2e1:bi3ee", 0, "duplicate");
}
END_TEST

START_TEST(test_limits)
{
	struct be_limits lim = be_default_limits;
	struct be_error err;
	lim.max_depth = 3;
	const char *deep = "llllee" "ee";
	ck_assert_ptr_null(be_decode((const uint8_t *)deep, strlen(deep), &lim, &err));
	ck_assert(strstr(err.msg, "nesting") != NULL);
	const char *ok = "llleee";
	struct be_node *n = be_decode((const uint8_t *)ok, strlen(ok), &lim, &err);
	ck_assert_ptr_nonnull(n);
	be_free(n);
	lim = be_default_limits;
	lim.max_items = 3;
	const char *many = "li1ei2ei3ee";
	ck_assert_ptr_null(be_decode((const uint8_t *)many, strlen(many), &lim, &err));
	ck_assert(strstr(err.msg, "more than 3") != NULL);
	/* A very deep document is refused without exhausting the stack. */
	char *huge = xmalloc(200001);
	memset(huge, 'l', 200000);
	huge[200000] = 0;
	ck_assert_ptr_null(decode(huge, &err));
	free(huge);
}
END_TEST

START_TEST(test_encode_round_trip)
{
	const char *docs[] = { "i-5e", "0:", "3:abc", "le", "de", "d1:ad1:bli1e3:xyzeee",
		"l4:spami42ed3:cow3:mooee" };
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct be_error err;
		struct be_node *n = decode(docs[i], &err);
		ck_assert_ptr_nonnull(n);
		struct dp_buf b;
		dp_buf_init(&b);
		be_enc_node(&b, n);
		ck_assert_uint_eq(b.len, strlen(docs[i]));
		ck_assert(memcmp(b.data, docs[i], b.len) == 0);
		dp_buf_free(&b);
		be_free(n);
	}
	/* Re-encoding an unsorted dictionary sorts it. */
	struct be_error err;
	struct be_node *n = decode("d1:bi1e1:ai2ee", &err);
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_node(&b, n);
	ck_assert_str_eq((char *)b.data, "d1:ai2e1:bi1ee");
	dp_buf_free(&b);
	be_free(n);
	/* The builder API produces canonical output. */
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "a");
	be_enc_list_begin(&b);
	be_enc_int(&b, -3);
	be_enc_str(&b, "x\0y", 3);
	be_enc_end(&b);
	be_enc_end(&b);
	ck_assert_uint_eq(b.len, 16);
	ck_assert(memcmp(b.data, "d1:ali-3e3:x\0yee", 16) == 0);
	dp_buf_free(&b);
}
END_TEST

START_TEST(test_prefix)
{
	const char *s = "d1:ai1eeREST";
	size_t used = 0;
	struct be_error err;
	struct be_node *n = be_decode_prefix((const uint8_t *)s, strlen(s), NULL, &used, &err);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(used, 8);
	be_free(n);
}
END_TEST

Suite *
bencode_suite(void)
{
	Suite *s = suite_create("bencode");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_integers);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_containers_and_spans);
	tcase_add_test(tc, test_dict_order);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_encode_round_trip);
	tcase_add_test(tc, test_prefix);
	suite_add_tcase(s, tc);
	return s;
}
