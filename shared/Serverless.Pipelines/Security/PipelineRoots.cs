using Serverless.Metadata;

namespace Serverless.Pipelines;

/// <summary>
/// The folders a pipeline may read and write (host.json <c>extensions.pipelines.roots</c>): every location a parameter
/// names must resolve, symbolic links followed, inside the root of its kind, or the node does not start. Input paths
/// (<see cref="ParameterUse.InputPath"/>, user code) inside <see cref="Inputs"/>; the Pusher's destination
/// (<see cref="ParameterUse.ServingPath"/>) inside <see cref="ServingRepository"/>; checkpoints and other temporary
/// folders (<see cref="ParameterUse.ScratchPath"/>) inside <see cref="Scratch"/>. Artifacts never appear as paths: they
/// go through the blob store, whose names cannot leave its root.
/// </summary>
/// <remarks>
/// The check runs twice: when a run is prepared (so a request gets a 400 naming the parameter and the roots, and nothing
/// starts) and again in the node activity just before the executor (a run started any other way, a symbolic link
/// swapped since). A root that is null allows nothing of its kind except the empty value (the host's default).
/// </remarks>
public sealed class PipelineRoots
{
    private const int MaxLinkHops = 40;

    /// <summary>Folders that data, transform modules, schemas and user code may be read from.</summary>
    public IReadOnlyList<string> Inputs { get; init; } = [];

    /// <summary>The local artifact store (the blob root), for documentation and error messages; null for Azure Blob.</summary>
    public string? ArtifactStore { get; init; }

    /// <summary>The model repository the Pusher may write into (the model server's <c>--repository</c>).</summary>
    public string? ServingRepository { get; init; }

    /// <summary>Where nodes may keep temporary state (checkpoints, unpacked inputs).</summary>
    public string? Scratch { get; init; }

    /// <summary>These roots plus <paramref name="folders"/> as input roots (the CLI adds the pipeline file's folder: the
    /// operator named that file on the command line).</summary>
    public PipelineRoots WithInputs(params IEnumerable<string> folders)
    {
        ArgumentNullException.ThrowIfNull(folders);
        return new PipelineRoots
        {
            Inputs = [.. Inputs, .. folders.Select(f => Path.GetFullPath(f))],
            ArtifactStore = ArtifactStore,
            ServingRepository = ServingRepository,
            Scratch = Scratch,
        };
    }

    /// <summary>
    /// Checks every location a node's resolved parameters and user code name; returns (field, message) per violation,
    /// e.g. (<c>parameters.source</c>, <c>'/etc/passwd' is outside the allowed input roots (...)</c>).
    /// </summary>
    /// <param name="spec">The node's component.</param>
    /// <param name="parameters">Resolved parameters (paths absolute).</param>
    /// <param name="userCode">Absolute user code paths.</param>
    public IReadOnlyList<(string Field, string Message)> CheckNode(ComponentSpec spec, IReadOnlyDictionary<string, MetadataValue> parameters, IReadOnlyList<string> userCode)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(userCode);
        var problems = new List<(string, string)>();
        foreach (var parameter in spec.Parameters)
        {
            if (!parameters.TryGetValue(parameter.Name, out var value) || value.Type != PropertyType.String)
            {
                continue;
            }

            var problem = Check(parameter.Use, value.StringValue ?? string.Empty);
            if (problem is not null)
            {
                problems.Add(($"parameters.{parameter.Name}", problem));
            }
        }

        for (var i = 0; i < userCode.Count; i++)
        {
            if (Check(ParameterUse.InputPath, userCode[i]) is { } problem)
            {
                problems.Add(($"user_code[{i}]", problem));
            }
        }

        return problems;
    }

    /// <summary>Checks one value of a parameter used as <paramref name="use"/>; null when allowed, else why not.</summary>
    public string? Check(ParameterUse use, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        switch (use)
        {
            case ParameterUse.RelativePattern:
                return PatternProblem(value);
            case ParameterUse.InputPath or ParameterUse.InputFolder:
                return Outside(value, Inputs, "input roots", "inputs");
            case ParameterUse.ServingPath when value.Length > 0:
                return Outside(value, ServingRepository is null ? [] : [ServingRepository], "serving repository root", "servingRepository");
            case ParameterUse.ScratchPath when value.Length > 0:
                return Outside(value, Scratch is null ? [] : [Scratch], "scratch root", "scratch");
            default:
                return null;
        }
    }

    /// <summary>
    /// The real path of <paramref name="path"/>: absolute, with every symbolic link among its existing components
    /// replaced by its target (as the kernel resolves it), and the rest appended as written.
    /// </summary>
    /// <exception cref="IOException">More than 40 links in a row (a loop).</exception>
    public static string RealPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Not Path.GetFullPath: it would drop "link/.." lexically, where the kernel first follows the link.
        var full = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
        var root = Path.GetPathRoot(full)!;
        var pending = new List<string>(Split(full[root.Length..]));
        pending.Reverse(); // a stack: the next component is last
        var current = root;
        var hops = 0;
        while (pending.Count > 0)
        {
            var part = pending[^1];
            pending.RemoveAt(pending.Count - 1);
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            var next = Path.Combine(current, part);
            var target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }

            if (++hops > MaxLinkHops)
            {
                throw new IOException($"'{path}': more than {MaxLinkHops} symbolic links (a loop?)");
            }

            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
                target = target[current.Length..];
            }

            var parts = Split(target);
            for (var i = parts.Length - 1; i >= 0; i--)
            {
                pending.Add(parts[i]);
            }
        }

        return current;
    }

    /// <summary>A one-line description of the roots, for errors and logs.</summary>
    public override string ToString() =>
        $"inputs: {List(Inputs)}; artifact store: {ArtifactStore ?? "(blob container)"}; serving repository: {ServingRepository ?? "(none)"}; scratch: {Scratch ?? "(none)"}";

    private static string[] Split(string path) => path.Split(['/', Path.DirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);

    private static string List(IEnumerable<string> folders)
    {
        var list = folders.ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }

    private static string? Outside(string value, IEnumerable<string> roots, string kind, string setting)
    {
        var list = roots.ToList();
        var quoted = ErrorText.Quote(value);
        if (!Path.IsPathFullyQualified(value))
        {
            return $"{quoted} is not an absolute path inside the allowed {kind} ({List(list)})";
        }

        string real;
        try
        {
            real = RealPath(value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return $"{quoted} cannot be resolved: {e.Message}";
        }

        foreach (var root in list)
        {
            var realRoot = RealPath(root);
            if (real == realRoot || real.StartsWith(realRoot.EndsWith(Path.DirectorySeparatorChar) ? realRoot : realRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                return null;
            }
        }

        var resolved = real == value ? string.Empty : $" (it resolves to {ErrorText.Quote(real)})";
        return $"{quoted}{resolved} is outside the allowed {kind} ({List(list)}); the operator can add a folder in host.json extensions.pipelines.roots.{setting}";
    }

    private static string? PatternProblem(string value)
    {
        foreach (var piece in value.Split([',', ':', ';'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (piece.StartsWith('/') || piece.StartsWith('\\') || piece.StartsWith('~') || Path.IsPathRooted(piece))
            {
                return $"pattern {ErrorText.Quote(piece)} must be relative to the input folder";
            }

            if (piece.Split(['/', '\\']).Any(segment => segment == ".."))
            {
                return $"pattern {ErrorText.Quote(piece)} must not contain a '..' segment (it would leave the input folder)";
            }
        }

        return null;
    }
}
