using Serverless.Pipelines.Hosting;

namespace Serverless.FunctionApp.Tests;

/// <summary>The host's access keys: constant-time comparison, a private key file generated once, refused when others can read it.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AccessKeysTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("keys-").FullName;

    public void Dispose() => Directory.Delete(_folder, true);

    [Fact]
    public void Matches_EqualDifferentOrEmpty_OnlyEqualMatches()
    {
        Assert.True(AccessKeys.Matches("s3cret", "s3cret"));
        Assert.False(AccessKeys.Matches("s3creT", "s3cret"));
        Assert.False(AccessKeys.Matches("s3cret-longer", "s3cret"));
        Assert.False(AccessKeys.Matches("", "s3cret"));
        Assert.False(AccessKeys.Matches(null, "s3cret"));
    }

    [Fact]
    public void LoadOrCreate_FreshFolder_CreatesPrivateFolderAndFileThenReadsTheSameKey()
    {
        var path = Path.Combine(_folder, "home", "access-key");

        var first = AccessKeys.LoadOrCreate(path, out var created);
        var second = AccessKeys.LoadOrCreate(path, out var createdAgain);

        Assert.True(created);
        Assert.False(createdAgain);
        Assert.Equal(first, second);
        Assert.Equal(43, first.Length);
        Assert.NotEqual(first, AccessKeys.Generate());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void LoadOrCreate_FileReadableByOthers_RefusedNamingTheFile()
    {
        var path = Path.Combine(_folder, "access-key");
        File.WriteAllText(path, "k");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var error = Assert.Throws<InvalidDataException>(() => AccessKeys.LoadOrCreate(path, out _));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }
}
