using TorchSharp;

namespace Serverless.Ml.Training.Torch.Tests;

// device: auto | cpu | cuda. This machine has no GPU (and TorchSharp-cpu has no CUDA), so the cuda branch that trains
// is not exercised here; each test asserts what holds on the machine it runs on.
public sealed class TorchDevicesTests
{
    [Theory]
    [InlineData("auto", TorchDeviceKind.Auto)]
    [InlineData("CPU", TorchDeviceKind.Cpu)]
    [InlineData(" cuda ", TorchDeviceKind.Cuda)]
    public void Parse_KnownNames_AnyCase(string text, TorchDeviceKind expected) => Assert.Equal(expected, TorchDevices.Parse(text));

    [Fact]
    public void Parse_Unknown_ErrorNamesSettingAndValue()
    {
        var e = Assert.Throws<ArgumentException>(() => TorchDevices.Parse("tpu"));

        Assert.Contains("'device'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'tpu'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_Cpu_IsTheCpu() => Assert.Equal(DeviceType.CPU, TorchDevices.Resolve(TorchDeviceKind.Cpu).type);

    [Fact]
    public void Resolve_Auto_CudaExactlyWhenLibtorchSeesAGpu() =>
        Assert.Equal(TorchRuntime.CudaAvailable ? DeviceType.CUDA : DeviceType.CPU, TorchDevices.Resolve(TorchDeviceKind.Auto).type);

    [Fact]
    public void Resolve_CudaWithoutGpu_ClearError()
    {
        if (TorchRuntime.CudaAvailable)
        {
            Assert.Equal(DeviceType.CUDA, TorchDevices.Resolve(TorchDeviceKind.Cuda).type);
            return;
        }

        var e = Assert.Throws<InvalidOperationException>(() => TorchDevices.Resolve(TorchDeviceKind.Cuda));

        Assert.Contains("no CUDA device", e.Message, StringComparison.Ordinal);
        Assert.Contains("device: auto or cpu", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TorchTrainer_CudaWithoutGpu_FailsBeforeTraining()
    {
        using var model = TorchModel.Mlp(new Models.MlpOptions { InputSize = 4, OutputSize = 2 }, seed: 1);
        if (TorchRuntime.CudaAvailable)
        {
            Assert.Equal("torchsharp-cuda", new TorchTrainer(model, new Training.TrainerOptions(), TorchDeviceKind.Cuda).BackendName);
            return;
        }

        Assert.Throws<InvalidOperationException>(() => new TorchTrainer(model, new Training.TrainerOptions(), TorchDeviceKind.Cuda));
        Assert.Equal("torchsharp-cpu", new TorchTrainer(model, new Training.TrainerOptions(), TorchDeviceKind.Auto).BackendName);
    }
}
