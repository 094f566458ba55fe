using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Serverless.Pipelines.Tests;

/// <summary>
/// Random pipeline files (issue 18): fragments of real pipeline syntax shuffled together, mutations of a valid file, deep
/// nesting, alias chains, control characters and oversized values, in YAML and JSON. Loading and validating any of them
/// never throws (a crash would end the run here) and every error names its place: the file, and a line, node or field.
/// </summary>
public sealed class PipelineFileFuzzTests
{
    private const string Valid = """
        name: fuzz
        nodes:
          - id: import
            component: FileCopy
            parameters:
              source: data.csv
          - id: count
            component: CsvRowCount
            inputs: { examples: import.examples }
            parameters: { has_header: true }
            retry: { max_attempts: 3, first_retry_interval: 1s, backoff_coefficient: 2 }
            approval: { event: approve-count, timeout: 1h }
            pool: default
            cache: false
            user_code: [module.py]
        """;

    private static readonly string[] YamlFragments =
    [
        "name: fuzz\n", "nodes:\n", "  - id: a\n", "  - id: b\n", "    component: FileCopy\n", "    component: CsvRowCount\n",
        "    component: StatsToStats\n", "    component: Nope\n", "    inputs: { examples: a.examples }\n", "    inputs: { statistics: b.statistics }\n",
        "    inputs: { examples: zz }\n", "    parameters: { source: /tmp }\n", "    parameters: { has_header: maybe }\n", "    parameters: { [k]: v }\n",
        "    parameters: { source: &s [1, 2] }\n", "    retry: { max_attempts: 100000, first_retry_interval: 1s }\n", "    retry: { max_attempts: x }\n",
        "    approval: { event: '', timeout: -1s }\n", "    approval: { event: e, timeout: forever }\n", "    user_code: [ ]\n", "    cache: perhaps\n",
        "    pool: ''\n", "    colour: red\n", "&a ", "*a ", "*missing ", "[", "]", "{", "}", ": ", "- ", "? ", "!!binary ", "!tag ", "---\n", "...\n",
        "%YAML 1.2\n", "# comment\n", "'", "\"", "|\n", ">-\n", "\t", "\u0000", "\u0001", "\uFEFF", "\uD800", "é", "\\", "\n", "  ", "    ",
        "id: a.b..c\n", "component: ", "nodes: []\n", "nodes: {}\n", "nodes: 3\n", "name: [x]\n", "name: " + new string('n', 300) + "\n",
    ];

    private static readonly string[] JsonFragments =
    [
        "{", "}", "[", "]", ",", ":", "\"name\"", "\"nodes\"", "\"id\"", "\"component\"", "\"FileCopy\"", "\"inputs\"", "\"parameters\"",
        "\"source\"", "\"/tmp\"", "\"a\"", "\"a.examples\"", "null", "true", "1e309", "-0", "12345678901234567890", "\"\\u0000\"", "/* c */", "\"\\ud800\"",
    ];

    private static Gen<string> Concatenation(string[] fragments, int max) =>
        Gen.Choose(0, max).SelectMany(n => Gen.ArrayOf(Gen.Elements(fragments), n)).Select(string.Concat);

    // Deletions, duplications and insertions of fragments at random places of a valid file.
    private static Gen<(int Kind, int At, int Length, string Fragment)> Edit =>
        from kind in Gen.Choose(0, 3)
        from at in Gen.Choose(0, Valid.Length)
        from length in Gen.Choose(0, 40)
        from fragment in Gen.Elements(YamlFragments)
        select (kind, at, length, fragment);

    private static Gen<string> Mutation =>
        Gen.Choose(1, 8).SelectMany(n => Gen.ArrayOf(Edit, n))
            .Select(edits =>
            {
                var text = Valid;
                foreach (var (kind, at, length, fragment) in edits)
                {
                    var start = Math.Min(at, text.Length);
                    var count = Math.Min(length, text.Length - start);
                    text = kind switch
                    {
                        0 => text.Remove(start, count),
                        1 => text.Insert(start, text.Substring(start, count)),
                        _ => text.Insert(start, fragment),
                    };
                }

                return text;
            });

    private static Gen<string> Nesting =>
        Gen.Zip(Gen.Choose(1, 5000), Gen.Elements("[", "{a: ", "- ", "[{x: ")).Select(t => "name: deep\nnodes: " + string.Concat(Enumerable.Repeat(t.Item2, t.Item1)));

    private static Gen<string> Aliases =>
        Gen.Choose(1, 14).Select(levels =>
        {
            var text = new System.Text.StringBuilder("a0: &a0 [x, x, x]\n");
            for (var i = 1; i < levels; i++)
            {
                text.Append($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
            }

            return text.Append($"name: laughs\nnodes: *a{levels - 1}\n").ToString();
        });

    private static Arbitrary<(string Text, PipelineFileFormat Format)> Files =>
        Gen.Frequency(
            (4, Concatenation(YamlFragments, 80).Select(t => (t, PipelineFileFormat.Yaml))),
            (4, Mutation.Select(t => (t, PipelineFileFormat.Yaml))),
            (2, Concatenation(JsonFragments, 60).Select(t => (t, PipelineFileFormat.Json))),
            (1, Nesting.Select(t => (t, PipelineFileFormat.Yaml))),
            (1, Aliases.Select(t => (t, PipelineFileFormat.Yaml))),
            (1, ArbMap.Default.GeneratorFor<string>().Select(t => (t ?? string.Empty, PipelineFileFormat.Yaml))))
        .ToArbitrary();

    [Property(MaxTest = 400)]
    public Property LoadAndValidate_RandomFile_NeverThrowsAndEveryErrorNamesItsPlace() =>
        Prop.ForAll(Files, file =>
        {
            var registry = TestPipelines.Registry();
            var loaded = PipelineLoader.Parse(file.Text, file.Format, "fuzz.yaml", "/tmp");
            var errors = loaded.IsSuccess
                ? PipelineValidator.Validate(loaded.Definition!, registry, new PipelineValidationOptions { CheckPaths = false }).Errors
                : loaded.Errors;
            foreach (var error in errors)
            {
                var placed = error.Line is not null || error.Node is not null || error.Field is not null
                    || error.Message.StartsWith("and ", StringComparison.Ordinal) || error.Message.Contains("maxPipelineFileBytes", StringComparison.Ordinal);
                if (error.File != "fuzz.yaml" || !placed || error.ToString().Length > 2000)
                {
                    throw new InvalidOperationException($"error without its place or too long: {error}");
                }
            }

            if (errors.Count > PipelineError.MaxReported + 1)
            {
                throw new InvalidOperationException($"{errors.Count} errors: not capped");
            }
        });
}
