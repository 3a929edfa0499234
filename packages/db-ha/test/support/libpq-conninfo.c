/*
 * What the installed libpq makes of connection strings, for db-ha's conformance tests.
 *
 *   libpq-conninfo             reads one JSON string literal a line on stdin (so a DSN may hold any
 *                              byte but NUL: newlines, quotes, tabs), and for each writes one line:
 *                              {"ok":true,"values":{"host":"h",...}}  the non-NULL options
 *                                                                     PQconninfoParse returned
 *                              {"ok":false,"error":"..."}              libpq's message
 *   libpq-conninfo --keywords  writes {"version":150018,"keywords":["service",...]}: PQlibVersion
 *                              and every keyword PQconndefaults knows.
 *
 * Output is ASCII: each byte >= 0x80 is written as \u00XX, one escape per byte (read the string as
 * Latin-1 to get the bytes back), so values that are not UTF-8 (e.g. from %FF) survive exactly.
 * Malformed input is a usage error: a message on stderr and exit status 2.
 *
 * Build: gcc -o libpq-conninfo libpq-conninfo.c -I$(pg_config --includedir) -lpq
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

static void
put_json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
read_hex4(const char *p, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++)
	{
		int		v = hex_value(p[i]);

		if (v < 0)
			return 0;
		*out = (*out << 4) | (unsigned) v;
	}
	return 1;
}

static char *
put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80)
		*out++ = (char) cp;
	else if (cp < 0x800)
	{
		*out++ = (char) (0xc0 | (cp >> 6));
		*out++ = (char) (0x80 | (cp & 0x3f));
	}
	else if (cp < 0x10000)
	{
		*out++ = (char) (0xe0 | (cp >> 12));
		*out++ = (char) (0x80 | ((cp >> 6) & 0x3f));
		*out++ = (char) (0x80 | (cp & 0x3f));
	}
	else
	{
		*out++ = (char) (0xf0 | (cp >> 18));
		*out++ = (char) (0x80 | ((cp >> 12) & 0x3f));
		*out++ = (char) (0x80 | ((cp >> 6) & 0x3f));
		*out++ = (char) (0x80 | (cp & 0x3f));
	}
	return out;
}

/*
 * Decodes one JSON string literal (the whole line, bar a trailing CR/LF) into out, which must hold
 * strlen(line) + 1 bytes: no escape grows its text. Returns NULL on success, else what is wrong.
 */
static const char *
decode_json_line(const char *line, char *out)
{
	const char *p = line;
	size_t		len = strlen(line);

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len < 2 || line[0] != '"' || line[len - 1] != '"')
		return "a line is not a JSON string literal";
	for (p = line + 1; p < line + len - 1; p++)
	{
		unsigned	cp;

		if ((unsigned char) *p < 0x20)
			return "unescaped control character in a JSON string";
		if (*p == '"')
			return "unescaped quote in a JSON string";
		if (*p != '\\')
		{
			*out++ = *p;
			continue;
		}
		if (++p >= line + len - 1)
			return "dangling backslash in a JSON string";
		switch (*p)
		{
			case '"':
			case '\\':
			case '/':
				*out++ = *p;
				break;
			case 'b':
				*out++ = '\b';
				break;
			case 'f':
				*out++ = '\f';
				break;
			case 'n':
				*out++ = '\n';
				break;
			case 'r':
				*out++ = '\r';
				break;
			case 't':
				*out++ = '\t';
				break;
			case 'u':
				if (p + 4 >= line + len || !read_hex4(p + 1, &cp))
					return "bad \\u escape in a JSON string";
				p += 4;
				if (cp >= 0xd800 && cp < 0xdc00)
				{
					unsigned	low;

					if (p + 6 >= line + len || p[1] != '\\' || p[2] != 'u' || !read_hex4(p + 3, &low) ||
						low < 0xdc00 || low >= 0xe000)
						return "unpaired surrogate in a JSON string";
					p += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
				}
				else if (cp >= 0xdc00 && cp < 0xe000)
					return "unpaired surrogate in a JSON string";
				if (cp == 0)
					return "NUL in a DSN: a C string cannot carry it to libpq";
				out = put_utf8(out, cp);
				break;
			default:
				return "unknown escape in a JSON string";
		}
	}
	*out = '\0';
	return NULL;
}

static int
print_keywords(void)
{
	PQconninfoOption *defaults = PQconndefaults();

	if (defaults == NULL)
	{
		fprintf(stderr, "libpq-conninfo: PQconndefaults failed\n");
		return 1;
	}
	printf("{\"version\":%d,\"keywords\":[", PQlibVersion());
	for (PQconninfoOption *option = defaults; option->keyword; option++)
	{
		if (option != defaults)
			putchar(',');
		put_json_string(option->keyword);
	}
	printf("]}\n");
	PQconninfoFree(defaults);
	return 0;
}

int
main(int argc, char **argv)
{
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	long		lineno = 0;

	if (argc == 2 && strcmp(argv[1], "--keywords") == 0)
		return print_keywords();
	if (argc != 1)
	{
		fprintf(stderr, "usage: libpq-conninfo [--keywords] < one JSON string a line\n");
		return 2;
	}

	while ((n = getline(&line, &cap, stdin)) != -1)
	{
		char	   *dsn = malloc((size_t) n + 1);
		const char *problem;
		char	   *errmsg = NULL;
		PQconninfoOption *options;

		lineno++;
		if (dsn == NULL)
		{
			fprintf(stderr, "libpq-conninfo: out of memory\n");
			return 1;
		}
		if ((problem = decode_json_line(line, dsn)) != NULL)
		{
			fprintf(stderr, "libpq-conninfo: line %ld: %s\n", lineno, problem);
			free(dsn);
			free(line);
			return 2;
		}

		options = PQconninfoParse(dsn, &errmsg);
		if (options == NULL)
		{
			size_t		len;

			/* libpq ends its messages with a newline; callers compare the text. */
			if (errmsg != NULL && (len = strlen(errmsg)) > 0 && errmsg[len - 1] == '\n')
				errmsg[len - 1] = '\0';
			printf("{\"ok\":false,\"error\":");
			put_json_string(errmsg != NULL ? errmsg : "out of memory");
			printf("}\n");
		}
		else
		{
			int			first = 1;

			printf("{\"ok\":true,\"values\":{");
			for (PQconninfoOption *option = options; option->keyword; option++)
			{
				if (option->val == NULL)
					continue;
				if (!first)
					putchar(',');
				first = 0;
				put_json_string(option->keyword);
				putchar(':');
				put_json_string(option->val);
			}
			printf("}}\n");
			PQconninfoFree(options);
		}
		PQfreemem(errmsg);
		free(dsn);
	}
	free(line);
	return ferror(stdin) ? 1 : 0;
}
