; locus tags for Ruby.

(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
(class name: (constant) @name) @definition.class
(class name: (scope_resolution name: (constant) @name)) @definition.class
(module name: (constant) @name) @definition.module
(module name: (scope_resolution name: (constant) @name)) @definition.module
(assignment left: (constant) @name) @definition.constant
(call method: (identifier) @name arguments: (argument_list . (simple_symbol)) @definition.method
  (#match? @name "^(attr_reader|attr_writer|attr_accessor)$"))

(call method: (identifier) @name) @reference.call
(call receiver: (constant) @name) @reference.type
(superclass (constant) @name) @reference.type
(superclass (scope_resolution name: (constant) @name)) @reference.type
(scope_resolution name: (constant) @name) @reference.type
(call method: (identifier) @_req arguments: (argument_list (string (string_content) @name))
  (#match? @_req "^require(_relative)?$")) @reference.import
