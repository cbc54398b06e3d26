"""Small fixes to the Jupyter Book 1 HTML that the browser test found.

sphinx-thebe 0.3.1 registers its inline configuration script on every
``env-before-read-docs``, so pages carry it twice and the browser reports
"Identifier 'THEBE_JS_URL' has already been declared". Keep the first copy of each script
(the copies differ only in how the missing file name is spelled: None or "").
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # Compare what the tag would contain: an inline script has no file name (None or "").
        attributes = getattr(js, "attributes", {}) or {}
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted((k, str(v))
                                                             for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique  # in place: the builder keeps adding to this same list


def setup(app):
    # Early: the event stops at the first handler that returns a template name.
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
