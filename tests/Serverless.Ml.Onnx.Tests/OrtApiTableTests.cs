using System.Runtime.InteropServices;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Runtime.Native;

namespace Serverless.Ml.Onnx.Tests;

// Off-by-one guards for the OrtApi function table: each test calls functions at known slots and checks
// behaviour only the right function has. A shifted slot would crash, return garbage or fail these.
public sealed unsafe class OrtApiTableTests
{
    private static OrtApi Api => OrtEnvironment.Instance.Api;

    [Fact]
    public void Version_LoadedLibrary_Is130()
    {
        Assert.StartsWith("1.30.", OrtEnvironment.Instance.Version, StringComparison.Ordinal);
        Assert.EndsWith("libonnxruntime.so.1", OrtEnvironment.Instance.LibraryPath, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateStatus_ThenGetErrorMessageAndCode_RoundTrips()
    {
        var message = "slot check: äöü"u8; // null-terminated UTF-8 literal
        fixed (byte* m = message)
        {
            var status = Api.CreateStatus((int)OrtErrorCode.InvalidGraph, m);
            Assert.NotEqual(IntPtr.Zero, status);
            try
            {
                Assert.Equal("slot check: äöü", Marshal.PtrToStringUTF8((IntPtr)Api.GetErrorMessage(status)));
                Assert.Equal((int)OrtErrorCode.InvalidGraph, Api.GetErrorCode(status));
            }
            finally
            {
                Api.ReleaseStatus(status);
            }
        }
    }

    [Fact]
    public void Check_ErrorStatus_ThrowsWithMessageAndCode()
    {
        var message = "boom"u8;
        fixed (byte* m = message)
        {
            var status = Api.CreateStatus((int)OrtErrorCode.NotImplemented, m);
            var e = Assert.Throws<OnnxRuntimeException>(() => Api.Check(status, "context"));
            Assert.Equal(OrtErrorCode.NotImplemented, e.ErrorCode);
            Assert.Equal("context: boom", e.Message);
            Assert.Equal("boom", e.RuntimeMessage);
        }
    }

    [Fact]
    public void CreateCpuMemoryInfo_Queried_ReportsCpuArenaDefault()
    {
        var info = OrtEnvironment.Instance.CpuMemoryInfo;
        byte* name;
        int id, memType, allocatorType;
        Api.Check(Api.MemoryInfoGetName(info, &name));
        Api.Check(Api.MemoryInfoGetId(info, &id));
        Api.Check(Api.MemoryInfoGetMemType(info, &memType));
        Api.Check(Api.MemoryInfoGetType(info, &allocatorType));
        Assert.Equal("Cpu", Marshal.PtrToStringUTF8((IntPtr)name));
        Assert.Equal(0, id);
        Assert.Equal(0, memType);        // OrtMemTypeDefault
        Assert.Equal(1, allocatorType);  // OrtArenaAllocator, as requested
    }

    [Fact]
    public void SetSessionGraphOptimizationLevel_InvalidLevel_ReturnsInvalidArgument()
    {
        // Slot 23 validates its enum argument; a shifted slot would not answer this way.
        IntPtr created;
        Api.Check(Api.CreateSessionOptions(&created));
        var options = created;
        try
        {
            Api.Check(Api.SetSessionGraphOptimizationLevel(options, 1));
            Api.Check(Api.SetIntraOpNumThreads(options, 1));
            var e = Assert.Throws<OnnxRuntimeException>(() => Api.Check(Api.SetSessionGraphOptimizationLevel(options, 42)));
            Assert.Equal(OrtErrorCode.InvalidArgument, e.ErrorCode);
        }
        finally
        {
            Api.ReleaseSessionOptions(options);
        }
    }
}
