; locus tags for Bash.

(function_definition name: (word) @name) @definition.function
(program (variable_assignment name: (variable_name) @name) @definition.constant
  (#match? @name "^[A-Z][A-Z0-9_]*$"))
(program (declaration_command (variable_assignment name: (variable_name) @name)) @definition.constant
  (#match? @name "^[A-Z][A-Z0-9_]*$"))

(command name: (command_name (word) @name)) @reference.call
(command name: (command_name (word) @_src) argument: (word) @name
  (#match? @_src "^(source|\\.)$")) @reference.import
