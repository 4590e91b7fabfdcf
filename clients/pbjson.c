/*  clients/pbjson.c — protobuf-c messages to JSON and back; the shape is
 *  in pbjson.h.
 *
 *  Everything goes through the message's descriptor: a field's offset
 *  finds its value, its quantifier offset finds the element count of a
 *  repeated field, the presence flag of an optional one or the case word
 *  of its oneof.  No generated type is named here, so this file never
 *  changes when the .proto files do.
 *
 *  To JSON, any failure (memory, bad UTF-8) unwinds to one NULL with
 *  nothing leaked: every partial JSON value is released by the caller
 *  that was about to attach it.  From JSON, a message under construction
 *  is at every moment one that protobuf_c_message_free_unpacked() can
 *  free: it is allocated with malloc (the default allocator), a repeated
 *  field's count only ever covers filled elements, and a oneof's case is
 *  set together with its member.  So a failure anywhere frees the whole
 *  message in one call.
 */
#include "clients/pbjson.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *s_message(const ProtobufCMessage *message);

static const void *
s_member(const ProtobufCMessage *message, unsigned offset)
{
    return (const char *) message + offset;
}

static json_t *
s_real(double value)
{
    if (isnan(value))
        return json_string("NaN");
    if (isinf(value))
        return json_string(value > 0 ? "Infinity" : "-Infinity");
    return json_real(value);
}

static json_t *
s_unsigned64(uint64_t value)
{
    if (value <= INT64_MAX)
        return json_integer((json_int_t) value);
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, value);
    return json_string(text);
}

static json_t *
s_enum(const ProtobufCFieldDescriptor *field, int value)
{
    const ProtobufCEnumValue *known =
        protobuf_c_enum_descriptor_get_value(field->descriptor, value);
    if (known)
        return json_string(known->name);
    return json_integer(value);
}

static json_t *
s_bytes(const ProtobufCBinaryData *bytes)
{
    size_t cap = sodium_base64_ENCODED_LEN(bytes->len, sodium_base64_VARIANT_ORIGINAL);
    char *text = malloc(cap);
    if (!text)
        return NULL;
    sodium_bin2base64(text, cap, bytes->data, bytes->len, sodium_base64_VARIANT_ORIGINAL);
    json_t *json = json_string(text);
    free(text);
    return json;
}

/*  One value of FIELD's type stored at VALUE (an element of a repeated
 *  field or the field itself).  */
static json_t *
s_value(const ProtobufCFieldDescriptor *field, const void *value)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *) value);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *) value);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *) value);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return s_unsigned64(*(const uint64_t *) value);
    case PROTOBUF_C_TYPE_FLOAT:
        return s_real(*(const float *) value);
    case PROTOBUF_C_TYPE_DOUBLE:
        return s_real(*(const double *) value);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *) value);
    case PROTOBUF_C_TYPE_ENUM:
        return s_enum(field, *(const int *) value);
    case PROTOBUF_C_TYPE_STRING: {
        const char *text = *(char *const *) value;
        return json_string(text ? text : "");
    }
    case PROTOBUF_C_TYPE_BYTES:
        return s_bytes(value);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *) value;
        return sub ? s_message(sub) : json_null();
    }
    }
    return NULL;
}

static size_t
s_element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return sizeof(int32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static json_t *
s_repeated(const ProtobufCMessage *message, const ProtobufCFieldDescriptor *field)
{
    size_t count = *(const size_t *) s_member(message, field->quantifier_offset);
    const char *elements = *(char *const *) s_member(message, field->offset);
    size_t size = s_element_size(field->type);
    json_t *array = json_array();
    for (size_t i = 0; array && i < count; i++) {
        if (json_array_append_new(array, s_value(field, elements + i * size)) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

/*  Whether MESSAGE holds FIELD, following the same presence rules as
 *  protobuf-c's packer, so what is written is what would go on the wire.  */
static int
s_present(const ProtobufCMessage *message, const ProtobufCFieldDescriptor *field)
{
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *) s_member(message, field->quantifier_offset) == field->id;
    const void *value = s_member(message, field->offset);
    if (field->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(void *const *) value != NULL;
    if (field->label != PROTOBUF_C_LABEL_OPTIONAL)
        return 1;
    if (field->type == PROTOBUF_C_TYPE_STRING) {
        const void *text = *(void *const *) value;
        return text != NULL && text != field->default_value;
    }
    return *(const protobuf_c_boolean *) s_member(message, field->quantifier_offset);
}

static json_t *
s_field(const ProtobufCMessage *message, const ProtobufCFieldDescriptor *field)
{
    if (field->label == PROTOBUF_C_LABEL_REPEATED)
        return s_repeated(message, field);
    return s_value(field, s_member(message, field->offset));
}

static json_t *
s_message(const ProtobufCMessage *message)
{
    const ProtobufCMessageDescriptor *desc = message->descriptor;
    json_t *object = json_object();
    for (unsigned i = 0; object && i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (field->label != PROTOBUF_C_LABEL_REPEATED && !s_present(message, field))
            continue;
        if (json_object_set_new(object, field->name, s_field(message, field)) != 0) {
            json_decref(object);
            return NULL;
        }
    }
    return object;
}

json_t *
fl_pbjson_from_message(const ProtobufCMessage *message)
{
    if (!message)
        return NULL;
    return s_message(message);
}

/*  ---------------------------------------------------------------------
 *  JSON to message
 */

#define S_PATH_MAX 256

typedef struct {
    char *text;
    size_t cap;
} s_error_t;

static int
s_refuse(s_error_t *error, const char *path, const char *why)
{
    snprintf(error->text, error->cap, "%s: %s", path[0] ? path : "message", why);
    return -1;
}

static ProtobufCMessage *s_parse_message(const ProtobufCMessageDescriptor *desc,
                                         const json_t *json, const char *path,
                                         s_error_t *error);

/*  Writes a path into OUT (S_PATH_MAX bytes).  A longer path is cut: it
 *  only labels a refusal.  */
static void
s_path(char *out, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void
s_path(char *out, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(out, S_PATH_MAX, format, args);
    va_end(args);
}

/*  A signed integer in [MIN, MAX], from a JSON integer or decimal string.  */
static int
s_signed(const json_t *json, int64_t min, int64_t max, int64_t *value_p)
{
    if (json_is_integer(json))
        *value_p = json_integer_value(json);
    else if (json_is_string(json)) {
        const char *text = json_string_value(json);
        char *end;
        errno = 0;
        long long value = strtoll(text, &end, 10);
        if (errno || end == text || *end)
            return -1;
        *value_p = value;
    }
    else
        return -1;
    return *value_p >= min && *value_p <= max ? 0 : -1;
}

/*  An unsigned integer up to MAX, from a JSON integer or decimal string.  */
static int
s_unsigned(const json_t *json, uint64_t max, uint64_t *value_p)
{
    if (json_is_integer(json)) {
        if (json_integer_value(json) < 0)
            return -1;
        *value_p = (uint64_t) json_integer_value(json);
    }
    else if (json_is_string(json)) {
        const char *text = json_string_value(json);
        char *end;
        errno = 0;
        if (text[0] < '0' || text[0] > '9')
            return -1;
        unsigned long long value = strtoull(text, &end, 10);
        if (errno || *end)
            return -1;
        *value_p = value;
    }
    else
        return -1;
    return *value_p <= max ? 0 : -1;
}

static int
s_double(const json_t *json, double *value_p)
{
    if (json_is_number(json)) {
        *value_p = json_number_value(json);
        return 0;
    }
    const char *text = json_string_value(json);
    if (!text)
        return -1;
    if (strcmp(text, "NaN") == 0)
        *value_p = NAN;
    else if (strcmp(text, "Infinity") == 0)
        *value_p = INFINITY;
    else if (strcmp(text, "-Infinity") == 0)
        *value_p = -INFINITY;
    else
        return -1;
    return 0;
}

static int
s_parse_enum(const ProtobufCFieldDescriptor *field, const json_t *json, int *value_p)
{
    if (json_is_string(json)) {
        const ProtobufCEnumValue *known = protobuf_c_enum_descriptor_get_value_by_name(
            field->descriptor, json_string_value(json));
        if (!known)
            return -1;
        *value_p = known->value;
        return 0;
    }
    int64_t value;
    if (s_signed(json, INT32_MIN, INT32_MAX, &value) != 0)
        return -1;
    *value_p = (int) value;
    return 0;
}

static int
s_parse_string(const json_t *json, char **value_p)
{
    if (!json_is_string(json))
        return -1;
    const char *text = json_string_value(json);
    if (strlen(text) != json_string_length(json))
        return -1;
    *value_p = strdup(text);
    return *value_p ? 0 : -1;
}

static int
s_parse_bytes(const json_t *json, ProtobufCBinaryData *value_p)
{
    static const int variants[] = {
        sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING,
    };
    if (!json_is_string(json))
        return -1;
    const char *text = json_string_value(json);
    size_t text_len = json_string_length(json);
    if (text_len == 0)
        return 0;
    uint8_t *data = malloc(text_len / 4 * 3 + 3);
    if (!data)
        return -1;
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        size_t len = 0;
        const char *end = NULL;
        int rc = sodium_base642bin(data, text_len / 4 * 3 + 3, text, text_len, NULL,
                                   &len, &end, variants[i]);
        if (rc == 0 && end == text + text_len) {
            value_p->data = data;
            value_p->len = len;
            return 0;
        }
    }
    free(data);
    return -1;
}

/*  What a value of FIELD's type must look like, for refusals.  */
static const char *
s_wanted(const ProtobufCFieldDescriptor *field)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return "wants a 32-bit integer";
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return "wants an unsigned 32-bit integer";
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return "wants a 64-bit integer";
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return "wants an unsigned 64-bit integer";
    case PROTOBUF_C_TYPE_FLOAT:
        return "wants a number within float range";
    case PROTOBUF_C_TYPE_DOUBLE:
        return "wants a number";
    case PROTOBUF_C_TYPE_BOOL:
        return "wants true or false";
    case PROTOBUF_C_TYPE_ENUM:
        return "wants a known enum name or a number";
    case PROTOBUF_C_TYPE_STRING:
        return "wants a string without NUL characters";
    case PROTOBUF_C_TYPE_BYTES:
        return "wants a base64 string";
    case PROTOBUF_C_TYPE_MESSAGE:
        return "wants an object";
    }
    return "has an unknown type";
}

/*  Parses a non-message scalar of FIELD's type from JSON into OUT.  */
static int
s_parse_scalar(const ProtobufCFieldDescriptor *field, const json_t *json, void *out)
{
    int64_t i;
    uint64_t u;
    double d;
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (s_signed(json, INT32_MIN, INT32_MAX, &i) != 0)
            return -1;
        *(int32_t *) out = (int32_t) i;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (s_unsigned(json, UINT32_MAX, &u) != 0)
            return -1;
        *(uint32_t *) out = (uint32_t) u;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return s_signed(json, INT64_MIN, INT64_MAX, out);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return s_unsigned(json, UINT64_MAX, out);
    case PROTOBUF_C_TYPE_FLOAT:
        if (s_double(json, &d) != 0 || (isfinite(d) && fabs(d) > FLT_MAX))
            return -1;
        *(float *) out = (float) d;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return s_double(json, out);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(json))
            return -1;
        *(protobuf_c_boolean *) out = json_is_true(json);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return s_parse_enum(field, json, out);
    case PROTOBUF_C_TYPE_STRING:
        return s_parse_string(json, out);
    case PROTOBUF_C_TYPE_BYTES:
        return s_parse_bytes(json, out);
    case PROTOBUF_C_TYPE_MESSAGE:
        break;
    }
    return -1;
}

/*  One value of FIELD at PATH into OUT; a sub-message is built whole.  */
static int
s_parse_value(const ProtobufCFieldDescriptor *field, const json_t *json, void *out,
              const char *path, s_error_t *error)
{
    if (field->type != PROTOBUF_C_TYPE_MESSAGE) {
        if (s_parse_scalar(field, json, out) != 0)
            return s_refuse(error, path, s_wanted(field));
        return 0;
    }
    ProtobufCMessage *sub = s_parse_message(field->descriptor, json, path, error);
    if (!sub)
        return -1;
    *(ProtobufCMessage **) out = sub;
    return 0;
}

static int
s_parse_repeated(ProtobufCMessage *message, const ProtobufCFieldDescriptor *field,
                 const json_t *json, const char *path, s_error_t *error)
{
    if (!json_is_array(json))
        return s_refuse(error, path, "wants an array");
    size_t count = json_array_size(json);
    if (count == 0)
        return 0;
    size_t size = s_element_size(field->type);
    char *elements = calloc(count, size);
    if (!elements)
        return s_refuse(error, path, "out of memory");
    size_t *n_p = (size_t *) ((char *) message + field->quantifier_offset);
    *(char **) ((char *) message + field->offset) = elements;
    for (size_t i = 0; i < count; i++) {
        char element_path[S_PATH_MAX];
        s_path(element_path, "%s[%zu]", path, i);
        if (s_parse_value(field, json_array_get(json, i), elements + i * size,
                          element_path, error) != 0)
            return -1;
        *n_p = i + 1;
    }
    return 0;
}

/*  Claims FIELD's oneof for it; refuses a second member of the same oneof.  */
static int
s_claim_oneof(ProtobufCMessage *message, const ProtobufCFieldDescriptor *field,
              const char *path, s_error_t *error)
{
    uint32_t *case_p = (uint32_t *) ((char *) message + field->quantifier_offset);
    if (*case_p != 0 && *case_p != field->id)
        return s_refuse(error, path, "a second member of the same oneof");
    *case_p = field->id;
    return 0;
}

static int
s_parse_field(ProtobufCMessage *message, const ProtobufCFieldDescriptor *field,
              const json_t *json, const char *path, s_error_t *error)
{
    if (field->label == PROTOBUF_C_LABEL_REPEATED)
        return s_parse_repeated(message, field, json, path, error);
    if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        && s_claim_oneof(message, field, path, error) != 0)
        return -1;
    void *out = (char *) message + field->offset;
    bool has_flag = field->label == PROTOBUF_C_LABEL_OPTIONAL
                 && !(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                 && field->type != PROTOBUF_C_TYPE_STRING
                 && field->type != PROTOBUF_C_TYPE_MESSAGE;
    if (s_parse_value(field, json, out, path, error) != 0)
        return -1;
    if (has_flag)
        *(protobuf_c_boolean *) ((char *) message + field->quantifier_offset) = 1;
    return 0;
}

static const ProtobufCFieldDescriptor *
s_field_named(const ProtobufCMessageDescriptor *desc, const char *name)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        if (strcmp(desc->fields[i].name, name) == 0)
            return &desc->fields[i];
    }
    return NULL;
}

static int
s_parse_fields(ProtobufCMessage *message, const json_t *json, const char *path,
               s_error_t *error)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) json, key, value) {
        char field_path[S_PATH_MAX];
        s_path(field_path, "%s%s%s", path, path[0] ? "." : "", key);
        const ProtobufCFieldDescriptor *field = s_field_named(message->descriptor, key);
        if (!field)
            return s_refuse(error, field_path, "no such field");
        if (json_is_null(value))
            continue;
        if (s_parse_field(message, field, value, field_path, error) != 0)
            return -1;
    }
    return 0;
}

static ProtobufCMessage *
s_parse_message(const ProtobufCMessageDescriptor *desc, const json_t *json,
                const char *path, s_error_t *error)
{
    if (!json_is_object(json)) {
        s_refuse(error, path, "wants an object");
        return NULL;
    }
    ProtobufCMessage *message = malloc(desc->sizeof_message);
    if (!message) {
        s_refuse(error, path, "out of memory");
        return NULL;
    }
    protobuf_c_message_init(desc, message);
    if (s_parse_fields(message, json, path, error) != 0) {
        protobuf_c_message_free_unpacked(message, NULL);
        return NULL;
    }
    return message;
}

int
fl_pbjson_to_message(const ProtobufCMessageDescriptor *descriptor, const json_t *json,
                     ProtobufCMessage **message_p, char *error, size_t error_cap)
{
    s_error_t err = { error, error_cap };
    *message_p = s_parse_message(descriptor, json, "", &err);
    if (!*message_p)
        return -1;
    if (!protobuf_c_message_check(*message_p)) {
        protobuf_c_message_free_unpacked(*message_p, NULL);
        *message_p = NULL;
        return s_refuse(&err, "", "a required field is missing");
    }
    return 0;
}
