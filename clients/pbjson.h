/*  clients/pbjson.h — protobuf-c messages as JSON, driven by descriptors.
 *
 *  One generic mapper instead of one per message (DESIGN.md §4): whatever
 *  a .proto declares, its protobuf-c descriptor says how to write it, so a
 *  new message or field needs no change here.  The CLIs print replies with
 *  it and the HTTP gateway maps onto the same messages through it.
 *
 *  The JSON shape, chosen so that a reader always sees the same keys:
 *
 *    - keys are the .proto field names (snake_case), in declaration order;
 *    - every proto3 scalar and string is written, also at its default;
 *    - a field the message does not hold is left out: a oneof member that
 *      is not the set one, a proto2/proto3 `optional` field without its
 *      presence flag, a sub-message pointer that is NULL;
 *    - repeated fields are arrays, also when empty;
 *    - enums are their value names ("NOT_FOUND"); a number the descriptor
 *      does not know stays a number, so a newer peer's value survives;
 *    - bytes are standard base64 with padding;
 *    - 64-bit integers are JSON integers, except a uint64/fixed64 above
 *      INT64_MAX, which JSON libraries cannot hold as integers: it is a
 *      decimal string;
 *    - float and double are JSON reals; NaN and the infinities, which JSON
 *      has no numbers for, are the strings "NaN", "Infinity", "-Infinity".
 *
 *  The reverse direction reads the same shape and is strict, because its
 *  input comes from outside: an unknown key, a value of the wrong JSON
 *  type, an integer outside its field's range, a second member of one
 *  oneof, bad base64 or an unknown enum name is refused with a message
 *  that names the field.  It also takes what other proto3 JSON writers
 *  send: any 64-bit integer as a decimal string, enums as numbers, bytes
 *  in URL-safe or unpadded base64, and null for "left at its default".
 */
#ifndef FL_PBJSON_H
#define FL_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/*  A new JSON object holding MESSAGE's fields as described above; the
 *  caller owns the reference.  Returns NULL when memory runs out or when a
 *  string field is not valid UTF-8 (JSON text must be).  */
json_t *fl_pbjson_from_message(const ProtobufCMessage *message);

/*  Builds a message of type DESCRIPTOR from the JSON object JSON.  On
 *  success returns 0 and sets *MESSAGE_P to a message the caller frees
 *  with protobuf_c_message_free_unpacked(message, NULL).  On failure
 *  returns -1, sets *MESSAGE_P to NULL and writes a one-line reason into
 *  ERROR (ERROR_CAP bytes), e.g. "ping.key: not base64".  */
int fl_pbjson_to_message(const ProtobufCMessageDescriptor *descriptor, const json_t *json,
                         ProtobufCMessage **message_p, char *error, size_t error_cap);

#endif
