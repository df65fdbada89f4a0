/*
 * fuzz_toml: libFuzzer target for the TOML parser and the Towerfile reader
 * on top of it (parse, validate, params_schema). Build and run:
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc/lib \
 *     tests/fuzz/fuzz_toml.c src/lib/{toml,toml_scalar,towerfile,quote,slug,buf,err,util}.c \
 *     $(pkg-config --cflags --libs jansson) -lm -o build/fuzz_toml
 *   build/fuzz_toml -max_len=4096 tests/data/toml/valid
 */
#include <stddef.h>
#include <stdint.h>

#include "toml.h"
#include "towerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_value *root = NULL;
	struct towerfile *tf = NULL;
	struct err err;
	json_t *schema;

	if (toml_parse((const char *)data, size, &root, &err) == 0)
		toml_free(root);
	if (towerfile_parse((const char *)data, size, &tf, &err) == 0) {
		if (towerfile_validate(tf, &err) == 0) {
			schema = towerfile_params_schema(tf);
			json_decref(schema);
		}
		towerfile_free(tf);
	}
	return 0;
}
