/*
 * fuzz_towerfile: libFuzzer target for the Towerfile reader (towerfile.c and
 * towerfile_limits.c: [app], parameters, [app.sandbox], [app.resources]).
 * A Towerfile that validates must hold NUL-free names and paths (the
 * contract of towerfile_validate), and its params_schema, sandbox and
 * resources JSON must survive the store's encode/decode round trip; the
 * parameter defaults must satisfy the schema they were derived from.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "schema.h"
#include "towerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_strings(char *const *v, const size_t *lens, size_t n)
{
	size_t i;

	if (v == NULL) {	/* the key was absent */
		FUZZ_CHECK(n == 0);
		return;
	}
	for (i = 0; i < n; i++)
		FUZZ_CHECK(strlen(v[i]) == lens[i]);
	FUZZ_CHECK(v[n] == NULL);
}

static void
check_nul_free(const struct towerfile *tf)
{
	FUZZ_CHECK(strlen(tf->name) == tf->name_len);
	FUZZ_CHECK(strlen(tf->script) == tf->script_len);
	check_strings(tf->source, tf->source_lens, tf->nsource);
	check_strings(tf->import_paths, tf->import_path_lens, tf->nimport_paths);
	if (tf->has_sandbox)
		check_strings(tf->sandbox.writable_paths, tf->sandbox.writable_path_lens,
		    tf->sandbox.nwritable_paths);
}

/* The params_schema as minitowerd stores it (sorted) and reads it back at
 * run creation; {} plus the defaults must validate against it. */
static void
check_schema(const struct towerfile *tf)
{
	json_t *schema = towerfile_params_schema(tf), *input;
	struct err err;

	if (schema == NULL) {
		FUZZ_CHECK(tf->nparams == 0);
		return;
	}
	free(fuzz_json_roundtrip(schema, NULL, true));
	input = schema_apply_defaults(schema, NULL);
	if (schema_validate(schema, input, &err) != 0) {
		fprintf(stderr, "defaults do not validate: %s\n", err.msg);
		abort();
	}
	json_decref(input);
	json_decref(schema);
}

static void
check_limits(const struct towerfile *tf)
{
	json_t *v;

	if ((v = towerfile_sandbox_json(tf)) != NULL) {
		free(fuzz_json_roundtrip(v, NULL, false));
		json_decref(v);
	}
	FUZZ_CHECK((v == NULL) == !tf->has_sandbox);
	if ((v = towerfile_resources_json(tf)) != NULL) {
		free(fuzz_json_roundtrip(v, NULL, false));
		json_decref(v);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct towerfile *tf = NULL;
	struct err err;

	if (towerfile_parse((const char *)data, size, &tf, &err) != 0) {
		FUZZ_CHECK(err.code == ERR_TOWERFILE_INVALID);
		FUZZ_CHECK(strncmp(err.msg, "parsing towerfile: ", 19) == 0);
		return 0;
	}
	if (towerfile_validate(tf, &err) == 0) {
		check_nul_free(tf);
		check_schema(tf);
		check_limits(tf);
	} else {
		FUZZ_CHECK(err.code == ERR_TOWERFILE_INVALID && err.msg[0] != '\0');
	}
	towerfile_free(tf);
	return 0;
}
