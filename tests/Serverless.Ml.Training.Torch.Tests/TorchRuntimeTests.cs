using System.Diagnostics;
using System.Security.Cryptography;
using Serverless.Ml.Training.Torch.Native;
using TorchSharp;

namespace Serverless.Ml.Training.Torch.Tests;

// The native-library fix (README "The GLIBCXX_3.4.32 fix"): the package's libLibTorchSharp.so must stay untouched, the
// copy in the output folder gets exactly one flag changed, and the system loader accepts the changed copy.
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TorchRuntimeTests
{
    private static string PackageLibrary
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env
                ? env
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            var version = typeof(torch).Assembly.GetName().Version!;
            var path = Path.Combine(root, "torchsharp", $"{version.Major}.{version.Minor}.{version.Build}", "runtimes", "linux-x64", "native", LibTorchSharpLoader.FileName);
            Assert.True(File.Exists(path), $"{path} not found (TorchSharp's package in the NuGet cache)");
            return path;
        }
    }

    private static bool SystemLibStdCxxHas(string version)
    {
        var lib = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.First(File.Exists);
        return File.ReadAllBytes(lib).AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(version + "\0")) >= 0;
    }

    [Fact]
    public void Initialize_ThisMachine_LoadsTheOutputFolderCopyAndRuns()
    {
        TorchRuntime.Initialize();

        Assert.NotNull(TorchRuntime.NativeLibraryPath);
        Assert.StartsWith(AppContext.BaseDirectory, TorchRuntime.NativeLibraryPath, StringComparison.Ordinal);
        using var sum = torch.arange(1, 5, dtype: torch.float32).sum();
        Assert.Equal(10f, sum.item<float>());
        // The copy in the output folder loads as it is now: weakened where the system lacks the version.
        var requirement = ElfVersionNeeds.Read(TorchRuntime.NativeLibraryPath!).Requirements().Single(r => r.Version == LibTorchSharpLoader.MissingVersion);
        Assert.Equal(!SystemLibStdCxxHas(LibTorchSharpLoader.MissingVersion), requirement.Weak);
        Assert.Equal(requirement.Weak, TorchRuntime.AppliedLibStdCxxFix);
    }

    [Fact]
    public void Initialize_NativeSettings_InTheNativeEnvironmentUnlessTheUserSetThem()
    {
        TorchRuntime.Initialize();

        // What libgomp and oneDNN read with getenv: ours when we set them, the user's otherwise, never missing.
        var wait = NativeEnvironment.Get("OMP_WAIT_POLICY");
        if (TorchRuntime.SetPassiveOpenMpWait) Assert.Equal("PASSIVE", wait);
        else Assert.True(wait is not null || NativeEnvironment.Get("GOMP_SPINCOUNT") is not null, "neither set by us nor by the user");
        var isa = NativeEnvironment.Get(OneDnnIsa.Variable);
        if (TorchRuntime.CappedOneDnnAtAvx2) Assert.Equal("AVX2", isa);
        else if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported) Assert.True(isa is not null || NativeEnvironment.Get("DNNL_MAX_CPU_ISA") is not null);
    }

    [Fact]
    public void Patch_CopyOfPackageLibrary_WeakensOnlyThatRequirementAndKeepsThePackageFile()
    {
        var original = PackageLibrary;
        var hashBefore = SHA256.HashData(File.ReadAllBytes(original));
        var dir = Directory.CreateTempSubdirectory("libtorchsharp-");
        try
        {
            var copy = Path.Combine(dir.FullName, LibTorchSharpLoader.FileName);
            File.Copy(original, copy);
            var copiedAt = File.GetLastWriteTimeUtc(copy);
            var before = ElfVersionNeeds.Read(copy).Requirements();
            Assert.False(before.Single(r => r.Version == LibTorchSharpLoader.MissingVersion).Weak);
            Assert.Equal([LibTorchSharpLoader.MarkerSymbol], ElfVersionNeeds.Read(copy).SymbolsOfVersion(before.Single(r => r.Version == LibTorchSharpLoader.MissingVersion).Index));

            Assert.True(LibTorchSharpLoader.Patch(copy, "test"));
            Assert.False(LibTorchSharpLoader.Patch(copy, "test")); // already weak: nothing to do

            var after = ElfVersionNeeds.Read(copy).Requirements();
            Assert.Equal(before.Count, after.Count);
            for (var i = 0; i < before.Count; i++)
            {
                Assert.Equal(before[i].Version, after[i].Version);
                Assert.Equal(before[i].Weak || before[i].Version == LibTorchSharpLoader.MissingVersion, after[i].Weak);
            }
            var a = File.ReadAllBytes(original);
            var b = File.ReadAllBytes(copy);
            Assert.Equal(a.Length, b.Length);
            Assert.Equal(1, Enumerable.Range(0, a.Length).Count(i => a[i] != b[i]));
            Assert.Equal(copiedAt, File.GetLastWriteTimeUtc(copy)); // so an incremental build does not copy the package file back
            Assert.Equal(hashBefore, SHA256.HashData(File.ReadAllBytes(original)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Patch_FileInNuGetCache_RefusedAndUntouched()
    {
        var original = PackageLibrary;
        var hashBefore = SHA256.HashData(File.ReadAllBytes(original));

        var e = Assert.Throws<InvalidOperationException>(() => LibTorchSharpLoader.Patch(original, "version `GLIBCXX_3.4.32' not found"));

        Assert.Contains("NuGet package cache", e.Message, StringComparison.Ordinal);
        Assert.Equal(hashBefore, SHA256.HashData(File.ReadAllBytes(original)));
    }

    [Fact]
    public async Task Dlopen_OriginalAndPatchedCopies_LoaderRejectsOnlyTheOriginalOnOldLibStdCxx()
    {
        // A separate process (Debian's python3, ctypes.CDLL = dlopen) so the test does not load a second copy in-process.
        var dir = Directory.CreateTempSubdirectory("libtorchsharp-dlopen-");
        try
        {
            var original = Path.Combine(dir.FullName, "original", LibTorchSharpLoader.FileName);
            var patched = Path.Combine(dir.FullName, "patched", LibTorchSharpLoader.FileName);
            Directory.CreateDirectory(Path.GetDirectoryName(original)!);
            Directory.CreateDirectory(Path.GetDirectoryName(patched)!);
            File.Copy(PackageLibrary, original);
            File.Copy(PackageLibrary, patched);
            LibTorchSharpLoader.Patch(patched, "test");
            TorchRuntime.Initialize();
            var libtorch = Path.GetDirectoryName(TorchRuntime.NativeLibraryPath)!;

            var (originalLoads, originalMessage) = await DlopenAsync(original, libtorch);
            var (patchedLoads, patchedMessage) = await DlopenAsync(patched, libtorch);

            Assert.True(patchedLoads, patchedMessage);
            if (SystemLibStdCxxHas(LibTorchSharpLoader.MissingVersion)) Assert.True(originalLoads, originalMessage);
            else
            {
                Assert.False(originalLoads);
                Assert.Contains($"`{LibTorchSharpLoader.MissingVersion}' not found", originalMessage, StringComparison.Ordinal);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<(bool Loads, string Message)> DlopenAsync(string library, string dependencies)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("import ctypes, sys\ntry:\n    ctypes.CDLL(sys.argv[1]); print('loaded')\nexcept OSError as e:\n    print(e); sys.exit(1)");
        psi.ArgumentList.Add(library);
        psi.Environment["LD_LIBRARY_PATH"] = dependencies;
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode == 0, output.Trim());
    }

    [Fact]
    public void Find_PortableOutput_IsTheLinuxX64NativeFolder()
    {
        var path = LibTorchSharpLoader.Find();

        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", LibTorchSharpLoader.FileName), Path.GetFullPath(path!));
        // The build keeps only linux-x64 native files (build/Serverless.Ml.Training.Torch.targets).
        Assert.False(Directory.Exists(Path.Combine(AppContext.BaseDirectory, "runtimes", "win-x64")));
        Assert.False(Directory.Exists(Path.Combine(AppContext.BaseDirectory, "runtimes", "osx-arm64")));
    }
}

// The oneDNN workaround (README "oneDNN on AVX-512"): an 8-channel convolution's input gradient on two threads.
public sealed class OneDnnWorkaroundTests
{
    [Fact]
    public void Conv2dBackward_EightChannelsTwoThreads_ExactGradientsEveryTime()
    {
        TorchRuntime.Initialize();
        var threads = torch.get_num_threads();
        torch.set_num_threads(2);
        try
        {
            var broken = 0;
            for (var i = 0; i < 30; i++)
            {
                using var scope = torch.NewDisposeScope();
                // Random inputs from a private generator: the process-wide one belongs to the trainings running alongside.
                using var generator = new torch.Generator(1000 + (ulong)i);
                var x = torch.randn([50, 8, 14, 14], generator: generator).requires_grad_(true);
                var w = torch.randn([8, 8, 3, 3], generator: generator);
                torch.nn.functional.conv2d(x, w, padding: [1, 1]).sum().backward();
                // d(sum conv(x, w))/dx is the transposed convolution of ones: compare with it computed independently.
                var expected = torch.nn.functional.conv_transpose2d(torch.ones(50, 8, 14, 14), w, padding: [1, 1]);
                if (!x.grad!.isfinite().all().item<bool>() || x.grad!.sub(expected).abs().max().item<float>() > 1e-3f) broken++;
            }
            Assert.True(broken == 0, $"{broken} of 30 backward passes gave wrong input gradients (oneDNN capped at AVX2: {TorchRuntime.CappedOneDnnAtAvx2})");
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }
}
