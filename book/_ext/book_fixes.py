"""Small fixes to the Jupyter Book 1 HTML that the browser test found.

sphinx-thebe 0.3.1 registers its inline configuration script on every
``env-before-read-docs``, so pages carry it twice and the browser reports
"Identifier 'THEBE_JS_URL' has already been declared". Keep the first copy of each script.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = (str(js), tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes",
                                                                          {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
