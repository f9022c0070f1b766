// placeholder so AC_CONFIG_SRCDIR resolves until the table lands
