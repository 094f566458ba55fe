using System.Runtime.InteropServices;

namespace Serverless.Ml.Training.Torch.Native;

/// <summary>
/// Makes TorchSharp's native glue library load on glibc systems whose libstdc++ is older than GCC 13 (Debian 12 ships
/// GCC 12's, which ends at <c>GLIBCXX_3.4.30</c>). <c>libLibTorchSharp.so</c> 0.107 was linked against GCC 13 and
/// requires <c>GLIBCXX_3.4.32</c> for exactly one symbol, <c>std::ios_base_library_init()</c>: GCC 13's
/// <c>&lt;iostream&gt;</c> references it only so that the link pulls in a libstdc++ that sets up the standard streams
/// itself. No relocation uses it, so nothing ever calls it; only the loader's version check fails. The fix marks that
/// one requirement weak (<c>VER_FLG_WEAK</c>), which glibc's loader accepts when the version is missing.
/// </summary>
/// <remarks>
/// Applied only when the loader itself reports the missing version (the first <c>dlopen</c> fails with
/// "version `GLIBCXX_3.4.32' not found"), only to the copy in the application's output folder (never to a file under
/// the NuGet package cache), and only after checking that the version binds nothing but that symbol and that no
/// relocation refers to it. The edited file is written next to the original and renamed over it (atomic), keeping the
/// original's timestamp so incremental builds do not copy the package file back over it.
/// Why the streams are still initialised: the library's dependency libtorch_cpu.so was built with an older GCC whose
/// translation units each construct a <c>std::ios_base::Init</c>, and dependencies run their constructors first.
/// </remarks>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class LibTorchSharpLoader
{
    /// <summary>The file name TorchSharp loads on Linux.</summary>
    public const string FileName = "libLibTorchSharp.so";

    /// <summary>The one version requirement that may be weakened.</summary>
    public const string MissingVersion = "GLIBCXX_3.4.32";

    /// <summary>The only symbol that version may bind.</summary>
    public const string MarkerSymbol = "_ZSt21ios_base_library_initv";

    /// <summary>
    /// The <c>libLibTorchSharp.so</c> the runtime will load for this application: the first match in the host's native
    /// search directories (the app folder and, for portable apps, <c>runtimes/linux-x64/native</c>), or null.
    /// </summary>
    public static string? Find()
    {
        var directories = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string dirs)
            directories.AddRange(dirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        directories.Add(AppContext.BaseDirectory);
        directories.Add(Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native"));
        directories.Add(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"));
        return directories.Select(d => Path.Combine(d, FileName)).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Loads <paramref name="path"/> with the system loader; when that fails only because libstdc++ lacks
    /// <see cref="MissingVersion"/>, weakens the requirement in place and loads again. Returns true when it edited the file.
    /// </summary>
    /// <exception cref="DllNotFoundException">The library does not load for another reason (message from the loader).</exception>
    /// <exception cref="InvalidOperationException">It needs the fix but the file may not or cannot be changed.</exception>
    public static bool Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        try
        {
            NativeLibrary.Load(path);
            return false;
        }
        catch (DllNotFoundException e) when (e.Message.Contains($"`{MissingVersion}' not found", StringComparison.Ordinal))
        {
            Patch(path, e.Message);
            NativeLibrary.Load(path);
            return true;
        }
    }

    /// <summary>Weakens <see cref="MissingVersion"/> in <paramref name="path"/> after the safety checks; false if already weak.</summary>
    public static bool Patch(string path, string loaderMessage)
    {
        var full = Path.GetFullPath(path);
        if (IsInPackageCache(full))
        {
            throw new InvalidOperationException(
                $"{full} needs {MissingVersion} ({loaderMessage}) but lies in the NuGet package cache, which is never edited. " +
                "Run from a build output folder (dotnet build copies the library there) so the copy there can be fixed.");
        }
        var elf = ElfVersionNeeds.Read(full);
        var requirement = elf.Requirements().FirstOrDefault(r => r.Version == MissingVersion && r.File.StartsWith("libstdc++", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{full}: the loader reports {MissingVersion} missing but the file does not require it from libstdc++: {loaderMessage}");
        if (requirement.Weak) return false;
        var symbols = elf.SymbolsOfVersion(requirement.Index);
        if (symbols.Count != 1 || symbols[0] != MarkerSymbol || elf.RelocationsUseVersion(requirement.Index))
        {
            throw new InvalidOperationException(
                $"{full} needs {MissingVersion} for [{string.Join(", ", symbols)}], not just {MarkerSymbol}, so it cannot be fixed by weakening " +
                "the requirement: this TorchSharp build needs a newer libstdc++ (GCC 13 or later).");
        }
        elf.MarkWeak(requirement);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{FileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temp, elf.Bytes);
            File.SetUnixFileMode(temp, File.GetUnixFileMode(full));
            File.SetLastWriteTimeUtc(temp, File.GetLastWriteTimeUtc(full));
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            File.Delete(temp);
            throw new InvalidOperationException(
                $"{full} needs the {MissingVersion} fix ({loaderMessage}) but its folder is not writable: {e.Message}. " +
                "Start the application once from a writable copy of its folder (the fix is applied in place and kept).", e);
        }
        return true;
    }

    /// <summary>True for paths under the NuGet global packages folder (<c>$NUGET_PACKAGES</c> or <c>~/.nuget/packages</c>).</summary>
    public static bool IsInPackageCache(string fullPath)
    {
        var roots = new[]
        {
            Environment.GetEnvironmentVariable("NUGET_PACKAGES"),
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        };
        return roots.Any(r => !string.IsNullOrEmpty(r) && fullPath.StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(r)) + "/", StringComparison.Ordinal))
            || fullPath.Contains("/.nuget/packages/", StringComparison.Ordinal);
    }
}
