using System.Text.Json;
using System.Xml.Linq;

namespace Serverless.Infra.Tests;

/// <summary>
/// The Dockerfiles cannot be built here (no container engine), so these tests check what can go stale without one:
/// every path they copy exists and survives their ignore file, and the trainer app's project graph stays inside
/// what the trainer image copies.
/// </summary>
public sealed class DockerfileTests
{
    private const string TrainerProject = "functions/Serverless.TrainerApp/Serverless.TrainerApp.csproj";

    public static TheoryData<string> Dockerfiles() => new("trainer.Dockerfile", "functions.Dockerfile");

    private static Dockerfile Load(string name) => Dockerfile.Load(Path.Combine(InfraFiles.DockerFolder, name));

    private static string Repo(string relative) => Path.Combine(InfraFiles.RepositoryRoot, relative);

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Dockerfile_ContextSources_ExistInRepository(string name)
    {
        var sources = Load(name).ContextSources;

        Assert.NotEmpty(sources);
        foreach (var (source, line) in sources)
        {
            Assert.True(File.Exists(Repo(source)) || Directory.Exists(Repo(source)), $"infra/docker/{name}:{line} copies '{source}', which does not exist in the repository");
        }
    }

    /// <summary>The build context is the repository root; <c>NAME.dockerignore</c> beside the Dockerfile lets in only
    /// what it copies, so each copied path must be re-included there.</summary>
    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Dockerfile_ContextSources_AreAllowedByItsIgnoreFile(string name)
    {
        var ignore = File.ReadAllLines(Path.Combine(InfraFiles.DockerFolder, name + ".dockerignore"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToArray();
        Assert.Equal("*", ignore[0]);
        var allowed = ignore.Where(l => l.StartsWith('!')).Select(l => l[1..].TrimEnd('/')).ToHashSet(StringComparer.Ordinal);

        foreach (var (source, line) in Load(name).ContextSources)
        {
            Assert.True(allowed.Contains(source.TrimEnd('/')), $"infra/docker/{name}:{line} copies '{source}' but {name}.dockerignore does not let it into the context");
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Dockerfile_BuildStage_CopiesTheBuildSettingsAndMatchesGlobalJson(string name)
    {
        var dockerfile = Load(name);
        var copied = dockerfile.ContextSources.Select(s => s.Source).ToHashSet(StringComparer.Ordinal);

        // Warnings are errors: without Directory.Build.props, the central versions or .editorconfig's analyzer
        // severities the image would build differently from the repository, or not at all.
        foreach (var file in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props", ".editorconfig" })
        {
            Assert.Contains(file, copied);
        }

        using var global = JsonDocument.Parse(File.ReadAllText(Repo("global.json")));
        var sdk = global.RootElement.GetProperty("sdk").GetProperty("version").GetString()!;
        var band = string.Join('.', sdk.Split('.').Take(2));
        var sdkImage = Assert.Single(dockerfile.BaseImages, i => i.StartsWith("mcr.microsoft.com/dotnet/sdk:", StringComparison.Ordinal));
        Assert.StartsWith($"mcr.microsoft.com/dotnet/sdk:{band}", sdkImage, StringComparison.Ordinal);
    }

    /// <summary>Every project the trainer app builds from lies in a folder the image copies, and none reads from
    /// node_modules (ONNX Runtime comes from NuGet), so the image needs no npm stage.</summary>
    [Fact]
    public void TrainerDockerfile_PublishedProject_StaysInsideWhatItCopies()
    {
        var dockerfile = Load("trainer.Dockerfile");
        var publish = Assert.Single(dockerfile.Instructions, i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Contains(TrainerProject, publish.Words);
        var folders = dockerfile.ContextSources.Select(s => s.Source).Where(s => s.EndsWith('/')).ToArray();

        var closure = ProjectClosure(Repo(TrainerProject));
        Assert.True(closure.Count >= 3, $"the trainer app's project graph has only {closure.Count} projects");
        foreach (var project in closure)
        {
            var relative = Path.GetRelativePath(InfraFiles.RepositoryRoot, project).Replace('\\', '/');
            Assert.True(folders.Any(f => relative.StartsWith(f, StringComparison.Ordinal)), $"{relative} (built by the trainer app) is outside the folders trainer.Dockerfile copies: {string.Join(", ", folders)}");
        }

        var npmPackages = closure.SelectMany(p => NodeModulesPackages(File.ReadAllText(p))).Distinct(StringComparer.Ordinal).ToArray();
        Assert.Empty(npmPackages);
        Assert.DoesNotContain(dockerfile.StageCopies, c => c.Stage == "npm");
        Assert.DoesNotContain(dockerfile.BaseImages, i => i.StartsWith("node:", StringComparison.Ordinal));
    }

    [Fact]
    public void TrainerDockerfile_Runtime_StartsTheTrainerAsNonRootWithTheCloudHostJson()
    {
        var dockerfile = Load("trainer.Dockerfile");
        var assembly = XDocument.Load(Repo(TrainerProject)).Descendants("AssemblyName").SingleOrDefault()?.Value
            ?? Path.GetFileNameWithoutExtension(TrainerProject);

        var runtime = dockerfile.BaseImages[^1];
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:", runtime, StringComparison.Ordinal);
        var entry = Assert.Single(dockerfile.Instructions, i => i.Keyword == "ENTRYPOINT");
        Assert.Equal($"[\"dotnet\", \"{assembly}.dll\"]", entry.Arguments);
        var command = Assert.Single(dockerfile.Instructions, i => i.Keyword == "CMD");
        Assert.Equal("[\"--host-json\", \"/app/host.json\"]", command.Arguments);
        Assert.Contains(dockerfile.Instructions, i => i.Keyword == "COPY" && i.Words.SequenceEqual(["infra/docker/trainer.host.json", "./host.json"]));
        var user = Assert.Single(dockerfile.Instructions, i => i.Keyword == "USER");
        Assert.NotEqual("root", user.Arguments);
        Assert.True(user.Line > dockerfile.Instructions.Last(i => i.Keyword == "FROM").Line, "USER must apply to the runtime stage");
    }

    [Fact]
    public void FunctionsDockerfile_Runtime_IsTheFunctionsIsolatedDotnet10Image()
    {
        var dockerfile = Load("functions.Dockerfile");

        Assert.Equal("mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0", dockerfile.BaseImages[^1]);
        var publish = Assert.Single(dockerfile.Instructions, i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Contains("functions/Serverless.Functions/Serverless.Functions.csproj", publish.Words);
        Assert.Contains("/home/site/wwwroot", publish.Words);
        var env = Assert.Single(dockerfile.Instructions, i => i.Keyword == "ENV");
        Assert.Contains("AzureWebJobsScriptRoot=/home/site/wwwroot", env.Words);
        Assert.Contains(dockerfile.StageCopies, c => c.Stage == "build" && c.Destination == "/home/site/wwwroot");
    }

    /// <summary>The project and all projects it references, transitively.</summary>
    private static IReadOnlyCollection<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var next))
        {
            Assert.True(File.Exists(next), $"referenced project {next} does not exist");
            if (!seen.Add(next)) continue;
            foreach (var reference in XDocument.Load(next).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(next)!, include)));
            }
        }

        return seen;
    }

    /// <summary>npm packages a project file reads from the repository's node_modules.</summary>
    private static IEnumerable<string> NodeModulesPackages(string projectText)
    {
        const string marker = "node_modules/";
        for (var at = projectText.IndexOf(marker, StringComparison.Ordinal); at >= 0; at = projectText.IndexOf(marker, at + 1, StringComparison.Ordinal))
        {
            var rest = projectText[(at + marker.Length)..];
            var end = rest.IndexOfAny(['/', '\'', '"', ')', '<']);
            if (end > 0) yield return rest[..end];
        }
    }
}
