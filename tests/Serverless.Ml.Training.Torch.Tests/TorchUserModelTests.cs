using System.Security.Cryptography;
using Serverless.Ml.Training.Models;
using TorchSharp;

namespace Serverless.Ml.Training.Torch.Tests;

// User models named by assembly path and type name (TFX's module_file), loaded like a plugin.
public sealed class TorchUserModelTests
{
    private const string Mlp = "Serverless.Ml.Training.Torch.TestModels.FashionMlp";

    [Fact]
    public void Load_TestModelsAssembly_FactoryAndContentHash()
    {
        var user = TorchUserModel.Load(TestSupport.TestModelsAssembly, Mlp);

        var expected = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(TestSupport.TestModelsAssembly)));
        Assert.Equal(expected, user.ContentHash);
        Assert.Equal(expected, TorchUserModel.ComputeContentHash(TestSupport.TestModelsAssembly));
        Assert.Equal($"user:{Mlp}@{expected}", user.Architecture);
        Assert.Equal(Mlp, user.Factory.GetType().FullName);
        // Plugin isolation: the model assembly has its own load context, but TorchSharp is the host's.
        Assert.NotEqual(System.Runtime.Loader.AssemblyLoadContext.Default, System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(user.Factory.GetType().Assembly));
        using var model = TorchModel.Create(user, new TorchModelContext { InputShape = [10], OutputSize = 3, Parameters = new Dictionary<string, string> { ["hidden"] = "7" } });
        Assert.Same(typeof(torch).Assembly, model.Module.GetType().Assembly);
        Assert.Equal([7L, 10L], model.Module.named_parameters().First().parameter.shape);
        Assert.StartsWith(user.Architecture + ":in=10:out=3:Classification:params=hidden=7", model.Architecture, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SameFileTwice_SameAssembly_ChangedCopy_NewHashAndContext()
    {
        var dir = Directory.CreateTempSubdirectory("user-model-");
        try
        {
            var copy = Path.Combine(dir.FullName, "Models.dll");
            File.Copy(TestSupport.TestModelsAssembly, copy);
            var first = TorchUserModel.Load(copy, Mlp);
            var again = TorchUserModel.Load(copy, Mlp);
            File.AppendAllText(copy, "changed"); // trailing bytes: still a loadable PE file, another hash

            var changed = TorchUserModel.Load(copy, Mlp);

            Assert.Same(first.Factory.GetType(), again.Factory.GetType());
            Assert.NotEqual(first.ContentHash, changed.ContentHash);
            Assert.NotSame(first.Factory.GetType().Assembly, changed.Factory.GetType().Assembly);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Load_UnknownType_ErrorNamesAssemblyTypeAndCandidates()
    {
        var e = Assert.Throws<ArgumentException>(() => TorchUserModel.Load(TestSupport.TestModelsAssembly, "Nope.Model"));

        Assert.Contains("'Nope.Model'", e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(TestSupport.TestModelsAssembly), e.Message, StringComparison.Ordinal);
        Assert.Contains(Mlp, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Serverless.Ml.Training.Torch.TestModels.NotAFactory", "does not implement")]
    [InlineData("Serverless.Ml.Training.Torch.TestModels.NeedsArguments", "parameterless constructor")]
    public void Load_UnusableType_ClearError(string type, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => TorchUserModel.Load(TestSupport.TestModelsAssembly, type));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(type, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingOrNotAnAssembly_ClearErrors()
    {
        var dir = Directory.CreateTempSubdirectory("user-model-bad-");
        try
        {
            var missing = Path.Combine(dir.FullName, "missing.dll");
            var text = Path.Combine(dir.FullName, "text.dll");
            File.WriteAllText(text, "not a PE file");

            Assert.Contains("missing.dll", Assert.Throws<FileNotFoundException>(() => TorchUserModel.Load(missing, Mlp)).Message, StringComparison.Ordinal);
            Assert.Contains("is not a .NET assembly", Assert.Throws<ArgumentException>(() => TorchUserModel.Load(text, Mlp)).Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Create_SameSeed_SameWeights_OtherSeed_Others()
    {
        var user = TorchUserModel.Load(TestSupport.TestModelsAssembly, Mlp);
        float[] Weights(ulong seed)
        {
            using var model = TorchModel.Create(user, new TorchModelContext { InputShape = [6], OutputSize = 2, Seed = seed });
            return model.Module.named_parameters().First().parameter.data<float>().ToArray();
        }

        Assert.Equal(Weights(5), Weights(5));
        Assert.NotEqual(Weights(5), Weights(6));
    }

    [Fact]
    public void Context_BadShape_ErrorNamesIt()
    {
        var user = TorchUserModel.Load(TestSupport.TestModelsAssembly, Mlp);

        var e = Assert.Throws<ArgumentException>(() => TorchModel.Create(user, new TorchModelContext { InputShape = [0, 3], OutputSize = 2 }));

        Assert.Contains("InputShape", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TorchModel.Create(user, new TorchModelContext { InputShape = [3], OutputSize = 1, Task = PredictionTask.Classification }));
    }
}
