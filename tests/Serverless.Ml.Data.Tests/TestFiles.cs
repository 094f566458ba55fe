namespace Serverless.Ml.Data.Tests;

/// <summary>A temporary directory deleted on dispose; tests use real files.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mldata-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string content)
    {
        var p = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        System.IO.File.WriteAllText(p, content);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public static class SharedData
{
    /// <summary>A data file of the repository's <c>samples/data</c> folder (a clone needs no sibling folders).</summary>
    public static string Dataset(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
            {
                var candidate = Path.Combine(dir.FullName, "samples", "data", name);
                return File.Exists(candidate) ? candidate : throw new FileNotFoundException($"dataset '{name}' not found in {Path.GetDirectoryName(candidate)}", candidate);
            }
        }
        throw new FileNotFoundException($"Serverless.sln not found above {AppContext.BaseDirectory}");
    }
}
