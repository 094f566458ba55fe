namespace Serverless.Infra.Tests;

/// <summary>One instruction of a Dockerfile: its keyword and its arguments (line continuations joined).</summary>
internal sealed record DockerInstruction(string Keyword, string Arguments, int Line)
{
    /// <summary>The arguments split on white space, flags (<c>--from=npm</c>) included.</summary>
    public string[] Words => Arguments.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>The instructions of a Dockerfile, enough to check what it copies, builds and runs.</summary>
internal sealed class Dockerfile
{
    private Dockerfile(string path, IReadOnlyList<DockerInstruction> instructions)
    {
        Path = path;
        Instructions = instructions;
    }

    public string Path { get; }

    public IReadOnlyList<DockerInstruction> Instructions { get; }

    /// <summary>Images of the <c>FROM</c> lines, in order.</summary>
    public IReadOnlyList<string> BaseImages => Instructions.Where(i => i.Keyword == "FROM").Select(i => i.Words[0]).ToArray();

    /// <summary>Sources of the <c>COPY</c>/<c>ADD</c> lines that read the build context (not another stage).</summary>
    public IReadOnlyList<(string Source, int Line)> ContextSources => Instructions
        .Where(i => i.Keyword is "COPY" or "ADD" && !i.Words.Any(w => w.StartsWith("--from=", StringComparison.Ordinal)))
        .SelectMany(i => i.Words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).SkipLast(1).Select(s => (s, i.Line)))
        .ToArray();

    /// <summary>Destinations of the <c>COPY --from=STAGE</c> lines, with their source.</summary>
    public IReadOnlyList<(string Stage, string Source, string Destination)> StageCopies => Instructions
        .Where(i => i.Keyword == "COPY")
        .Select(i => (Flags: i.Words.Where(w => w.StartsWith("--", StringComparison.Ordinal)).ToArray(), Paths: i.Words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray()))
        .Where(c => c.Flags.Any(f => f.StartsWith("--from=", StringComparison.Ordinal)))
        .Select(c => (c.Flags.First(f => f.StartsWith("--from=", StringComparison.Ordinal))["--from=".Length..], c.Paths[0], c.Paths[^1]))
        .ToArray();

    public static Dockerfile Load(string path)
    {
        var instructions = new List<DockerInstruction>();
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var start = i + 1;
            var text = line;
            while (text.EndsWith('\\') && i + 1 < lines.Length)
            {
                text = text[..^1] + " " + lines[++i].Trim();
            }

            var space = text.IndexOf(' ', StringComparison.Ordinal);
            Assert.True(space > 0, $"{path}:{start}: instruction without arguments: {text}");
            instructions.Add(new DockerInstruction(text[..space].ToUpperInvariant(), text[(space + 1)..].Trim(), start));
        }

        return new Dockerfile(path, instructions);
    }
}
