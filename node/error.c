/*  node/error.c — texts and names for the error table in error.h.  */
#include "node/error.h"

#include <string.h>

const char *
fl_strerror(int code)
{
    switch (code) {
#define FL_ERR_TEXT_(name, text) case FL_E_##name: return text;
    FL_ERRNO_MAP(FL_ERR_TEXT_)
#undef FL_ERR_TEXT_
    case 0:
        return "success";
    default:
        break;
    }
    if (code < 0 && code > FL_E_BASE_)
        return strerror(-code);
    return "unknown error";
}

const char *
fl_err_name(int code)
{
    switch (code) {
#define FL_ERR_NAME_(name, text) case FL_E_##name: return "FL_E_" #name;
    FL_ERRNO_MAP(FL_ERR_NAME_)
#undef FL_ERR_NAME_
    case 0:
        return "FL_OK";
    default:
        return "FL_E_UNKNOWN";
    }
}
