; Definitions and references in Python source, for the repository map (tools/repomap.py).
; Definition nodes: their `name` field is the defined identifier.
; References: only identifiers used as code entities (called, imported, subclassed, annotated, decorated,
; caught, or used as the object of an attribute access) -- not every variable, which would drown the graph.

(class_definition
  name: (identifier)) @definition.class

(function_definition
  name: (identifier)) @definition.function

(call function: (identifier) @reference)
(call function: (attribute attribute: (identifier) @reference))
(attribute object: (identifier) @reference)
(import_from_statement name: (dotted_name (identifier) @reference))
(import_from_statement name: (aliased_import name: (dotted_name (identifier) @reference)))
(class_definition superclasses: (argument_list (identifier) @reference))
(class_definition superclasses: (argument_list (attribute attribute: (identifier) @reference)))
(type (identifier) @reference)
(generic_type (identifier) @reference)
(decorator (identifier) @reference)
(decorator (attribute attribute: (identifier) @reference))
(except_clause (identifier) @reference)
(except_clause (as_pattern (identifier) @reference))
