"""Known ways out of a Jinja template, and what stops each (N3).

Each entry: (template part, source, a fragment of the reason the template is refused).
Most go in the plain-text part, which has no HTML escaping to hide behind; the last two
are about HTML escaping itself.
"""

from __future__ import annotations

UNSAFE = "is unsafe"

ESCAPES: dict[str, tuple[str, str, str]] = {
    # Python's object graph: every path to a class, its subclasses or a module's globals.
    "dunder attribute": ("text", "{{ customer.__class__ }}", UNSAFE),
    "dunder attribute by subscript": ("text", "{{ customer['__class__'] }}", UNSAFE),
    "__subclasses__ through __mro__": ("text", "{{ ''.__class__.__mro__[1].__subclasses__() }}", UNSAFE),
    "__subclasses__ through the attr filter": (
        "text",
        "{{ (''|attr('__class__')|attr('__base__')|attr('__subclasses__'))() }}",
        "__subclasses__",
    ),
    "attr filter to a dunder": ("text", "{{ ''|attr('__class__') }}", UNSAFE),
    "bound method __self__": ("text", "{{ customer.items.__self__ }}", UNSAFE),
    # str.format and format_map look attributes up themselves: the sandbox's formatter checks them.
    "str.format attribute field": ("text", "{{ '{0.__class__.__base__.__subclasses__}'.format(customer) }}", UNSAFE),
    "str.format_map attribute field": ("text", "{{ '{c.__class__}'.format_map({'c': customer}) }}", UNSAFE),
    "str.format reached through attr": ("text", "{{ ('{0.__class__}'|attr('format'))(customer) }}", UNSAFE),
    "str.format index field": ("text", "{{ '{0[__class__]}'.format(customer) }}", "__class__"),
    # Jinja's own globals are classes defined in a module with os imported nearby.
    "cycler globals": ("text", "{{ cycler.__init__.__globals__.os.popen('id').read() }}", UNSAFE),
    "joiner globals": ("text", "{{ joiner.__init__.__globals__ }}", UNSAFE),
    "namespace globals": ("text", "{{ namespace.__init__.__globals__ }}", UNSAFE),
    "cycler instance method globals": ("text", "{% set c = cycler('a') %}{{ c.next.__globals__ }}", UNSAFE),
    "macro function globals": ("text", "{% macro m() %}{% endmacro %}{{ m._func.__globals__ }}", UNSAFE),
    "generator frame": ("text", "{{ (customer|items).gi_frame }}", UNSAFE),
    # self: the template's own reference, its context and its blocks.
    "self context": ("text", "{{ self._TemplateReference__context }}", UNSAFE),
    "self globals": ("text", "{{ self.__init__.__globals__ }}", UNSAFE),
    "self recursion": ("text", "{% block content %}{{ self.content() }}{% endblock %}", "RecursionError"),
    # Resource abuse: huge ranges, text and numbers.
    "range abuse": ("text", "{% for i in range(100000000) %}{{ i }}{% endfor %}", "'range' is undefined"),
    "lipsum abuse": ("text", "{{ lipsum(1000000) }}", "'lipsum' is undefined"),
    "string repetition": ("text", "{{ 'x' * 100000000 }}", "repetition too large"),
    "huge power": ("text", "{{ 10 ** 100000 }}", "power too large"),
    # The data is read-only, and nothing else is in reach.
    "changing the data": ("text", "{{ customer.update({'email': 'attacker@example.com'}) }}", UNSAFE),
    "appending to a list": ("text", "{{ [].append(1) }}", UNSAFE),
    "framework globals": ("text", "{{ config.items() }}", "'config' is undefined"),
    "reading a file": ("text", "{% include '/etc/passwd' %}", "no template '/etc/passwd'"),
    "importing a module": ("text", "{% import 'os' as os %}", "no template 'os'"),
    # HTML: customer data is always escaped.
    "marking data safe": ("html", "<p>{{ customer.first_name|safe }}</p>", "No filter named 'safe'"),
    "turning autoescape off": (
        "html",
        "<p>\n{% autoescape false %}{{ customer.first_name }}{% endautoescape %}</p>",
        "autoescape",
    ),
}
