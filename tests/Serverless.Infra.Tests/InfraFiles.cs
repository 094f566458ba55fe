namespace Serverless.Infra.Tests;

/// <summary>Paths of the repository and its infra/ folder.</summary>
internal static class InfraFiles
{
    /// <summary>The folder holding Serverless.sln.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary><c>infra/</c>.</summary>
    public static string InfraFolder => Path.Combine(RepositoryRoot, "infra");

    /// <summary><c>infra/docker/</c>.</summary>
    public static string DockerFolder => Path.Combine(InfraFolder, "docker");

    /// <summary>The template users deploy.</summary>
    public static string MainTemplate => Path.Combine(InfraFolder, "main.bicep");

    /// <summary>Its parameters file.</summary>
    public static string MainParameters => Path.Combine(InfraFolder, "main.bicepparam");

    /// <summary>Every Bicep template under infra/ (modules included).</summary>
    public static IReadOnlyList<string> Templates =>
        Directory.GetFiles(InfraFolder, "*.bicep", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Every Bicep parameters file under infra/.</summary>
    public static IReadOnlyList<string> ParameterFiles =>
        Directory.GetFiles(InfraFolder, "*.bicepparam", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Path relative to infra/, for test data names.</summary>
    public static string RelativeToInfra(string path) => Path.GetRelativePath(InfraFolder, path).Replace('\\', '/');

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException($"Serverless.sln not found above {AppContext.BaseDirectory}");
    }
}
