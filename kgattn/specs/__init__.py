"""The YAML spec language shared by ``kgattn run`` (:mod:`kgattn.pipeline.spec`) and
``kgattn pretrain`` (:mod:`kgattn.pretraining.spec`): path values with ``${VAR}`` expansion,
strict sections, sections derived from the option schemas, the ``kg`` section with the one
function that imports the graph it names, specs that extend one another and ``--set`` overrides
(:mod:`kgattn.specs.compose`), and YAML reading with errors that name file, key and line.
Light: it imports the schemas, pydantic and PyYAML; graph readers load on use."""
