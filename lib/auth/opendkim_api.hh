// The libopendkim C API for C++ translation units. dkim.h is C99 and spells its boolean
// `_Bool`, which C++ does not know; bool has the same size and ABI on every platform g++
// targets, so the header is read with `_Bool` meaning `bool`. Include this, never dkim.h.
#pragma once

#define _Bool bool // NOLINT(bugprone-reserved-identifier): dkim.h's C99 spelling
#include <opendkim/dkim.h>
#undef _Bool
