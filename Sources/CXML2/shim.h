#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU; its ICU headers clash with the copy inside Foundation. Nothing here
   uses libxml2's ICU converters (every document is UTF-8), so their declarations are left out. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

/* xmlFree is a macro over a per-thread function pointer; Swift cannot call macros. */
static inline void sdt_xml_free(void *pointer) { xmlFree(pointer); }
