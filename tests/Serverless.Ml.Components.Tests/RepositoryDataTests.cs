namespace Serverless.Ml.Components.Tests;

/// <summary>A clone of the repository alone must pass its tests: the data they read lives inside it.</summary>
public sealed class RepositoryDataTests
{
    [Fact]
    public void TestData_Penguins_LivesInsideTheRepository()
    {
        var root = Path.GetFullPath(TestData.RepositoryRoot()) + Path.DirectorySeparatorChar;
        Assert.StartsWith(root, Path.GetFullPath(TestData.Penguins), StringComparison.Ordinal);
        Assert.True(File.Exists(TestData.Penguins));
    }

    [Fact]
    public void Sources_NameNoFolderOutsideTheRepository()
    {
        // The sibling folder "../shared" next to a checkout is not part of a clone; nothing may look for it.
        var root = TestData.RepositoryRoot();
        var sep = Path.DirectorySeparatorChar;
        var offenders = new[] { "shared", "tests", "functions", "samples" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.*", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{sep}obj{sep}", StringComparison.Ordinal) && !f.Contains($"{sep}bin{sep}", StringComparison.Ordinal))
            .Where(f => Path.GetExtension(f) is ".cs" or ".yaml" or ".sh" && Path.GetFileName(f) != nameof(RepositoryDataTests) + ".cs")
            .Where(f => File.ReadAllText(f) is var text
                && (text.Contains("\"shared\", \"datasets\"", StringComparison.Ordinal) || text.Contains("shared/datasets", StringComparison.Ordinal)))
            .ToList();
        Assert.Empty(offenders);
    }
}
